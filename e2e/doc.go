// Package e2e holds the end-to-end tests of dialroom: the built binary, started as
// a process, driven by real third-party peers (sipp for phone callers, headless
// Chromium for browser users) and judged by the audio that actually arrives and by
// what the page shows. The tests live in the _test.go files; this package exports
// only the small audio analyser they use (dominant frequency, tone share, level),
// so that other tests can judge audio the same way.
//
// Requirements: sipp, chromium, tshark and sox on PATH and root (sipp sends DTMF
// from a raw socket, tshark captures on lo). Tests skip when a tool is missing and
// never use sleeps to synchronise: they poll with a deadline.
package e2e
