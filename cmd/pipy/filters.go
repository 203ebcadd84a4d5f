package main

// The standard filter set (filters/all registers every filter family).
import _ "github.com/pipy-go/pipy/filters/all"
