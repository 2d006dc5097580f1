// Package model is a digit classifier that nngen generates from digits.yaml.
package model

//go:generate go run github.com/nngen/nngen/cmd/nngen generate -spec digits.yaml -out .
