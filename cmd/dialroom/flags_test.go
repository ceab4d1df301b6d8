package main

import "flag"

func newTestFlags() (*string, *flag.FlagSet) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	return fs.String("pin", "", ""), fs
}
