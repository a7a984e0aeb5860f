//go:build dittotest

package ditto

func init() { crashPointsEnabled = true }
