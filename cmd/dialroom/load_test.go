package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestLoadRefusesBadArguments(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"load"}, "-number is required"},
		{[]string{"load", "-number", "+4930123456", "-sip", "192.0.2.1:5060"}, "want a loopback host:port"},
		{[]string{"load", "-number", "+4930123456", "-calls", "0"}, "calls 0"},
		{[]string{"load", "-number", "+4930123456", "-calls", "99999"}, "calls 99999"},
		{[]string{"load", "-number", "+4930123456", "-signal", "music"}, `signal "music"`},
		{[]string{"load", "-number", "+4930123456", "-codec", "gsm"}, `codec "gsm"`},
	}
	for _, tc := range tests {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code == exitOK || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: got exit %d, %q; want an error containing %q", tc.args, code, errb.String(), tc.want)
		}
	}
}
