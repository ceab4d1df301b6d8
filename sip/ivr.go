package sip

import "dialroom/dialplan"

// defaultIVR runs dialplan's IVR with its default options.
func defaultIVR(room dialplan.Room) ivr { return dialplan.NewIVR(room, dialplan.IVROptions{}) }

// maskCaller turns a caller number as presented into the form safe to log
// and show ("+49 30 ••• 456"); withheld or unusable numbers give
// dialplan.UnknownCaller.
func maskCaller(raw string) string { return dialplan.MaskNumber(raw) }
