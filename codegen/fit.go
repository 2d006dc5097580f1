package codegen

import . "github.com/dave/jennifer/jen"

// fitMethods emits what runtime/train's fit callbacks and metrics ask of a
// model: the spec's metrics and the learning rate, with the factor
// ReduceLROnPlateau sets.
func (g *gen) fitMethods() []Code {
	var names []Code
	for _, s := range g.m.Metrics {
		names = append(names, Lit(s))
	}
	metrics := Return(Nil())
	if len(names) > 0 {
		metrics = Return(Index().String().Values(names...))
	}
	return []Code{
		g.method("Metrics are the metrics of the spec, by Keras's names.", "Metrics", nil, []Code{Index().String()}, metrics),
		g.method("LearningRate is the learning rate of the next train step: the spec's, after\nits schedule, times the factor of SetLearningRateFactor.",
			"LearningRate", nil, []Code{Float64()}, Return(m_("opt").Dot("Rate").Call(g.scheduledLR()))),
		g.method("SetLearningRateFactor multiplies the learning rate of the steps to come\nby f (1 undoes it).", "SetLearningRateFactor",
			[]Code{Id("f").Float64()}, nil, m_("opt").Dot("Factor").Op("=").Id("f")),
		g.method("Fit trains the model on trainSet, validating on val after each epoch (nil:\nnone), as the binary's train command does with the same options (see\ntrain.Fit), and returns every epoch's report.", "Fit",
			[]Code{Id("trainSet"), Id("val").Op("*").Qual(dataPkg, "Set"), Id("o").Qual(trainPkg, "Options")},
			[]Code{Index().Qual(trainPkg, "Epoch"), Error()},
			Return(Qual(trainPkg, "Fit").Call(Id("m"), Id("trainSet"), Id("val"), Id("o")))),
	}
}

// scheduledLR is the spec's learning rate of the next step, after its
// schedule.
func (g *gen) scheduledLR() *Statement {
	o := g.m.Opt
	lr := Id("hyper").Dot("LR")
	switch o.Schedule {
	case "step":
		return Qual(optimPkg, "StepLR").Call(lr, m_("step"), Lit(o.StepSize), Lit(o.Gamma))
	case "cosine":
		return Qual(optimPkg, "CosineLR").Call(lr, m_("step"), Lit(o.DecaySteps), Lit(o.Alpha))
	}
	return lr
}
