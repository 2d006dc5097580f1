package train

import "slices"

// An optionalCommand is a command that only some models offer: those for
// which fits reports true (a model implementing Autoencoder, say). Several
// optional commands may share a name; a model gets the first that fits it.
type optionalCommand struct {
	*command
	fits func(m Model) bool
}

// optionalCommands are the optional commands, in order of precedence.
var optionalCommands = slices.Concat(autoencoderCommands, textCommands)

// commands returns the commands of the binary: the common ones, then the
// optional ones its model fits.
func (c *cli) commands() []*command {
	l := slices.Clone(commands)
	for _, o := range optionalCommands {
		if o.fits(c.model) && c.findIn(l, o.name) == nil {
			l = append(l, o.command)
		}
	}
	return l
}

// findCommand returns the command called name, or nil.
func (c *cli) findCommand(name string) *command { return c.findIn(c.commands(), name) }

func (c *cli) findIn(l []*command, name string) *command {
	for _, cmd := range l {
		if cmd.name == name {
			return cmd
		}
	}
	return nil
}
