// Package ent is the generated ent client; only ent/schema is written by hand.
package ent

//go:generate go run -mod=mod ./entc.go
