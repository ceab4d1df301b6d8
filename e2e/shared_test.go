package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// sharedNumber is a number that belongs to no room: its callers type a
// room's dial-in code, then the room's PIN.
const sharedNumber = "+4930777000"

// TestSharedNumberJoinsRoomByCode: a caller dials a shared number, types
// the test room's dial-in code (read from "room list") and its PIN, and
// lands in the room: a caller already there (440 Hz) hears its 880 Hz.
func TestSharedNumberJoinsRoomByCode(t *testing.T) {
	needTools(t, "sipp", "sox", "tshark")
	bin := needBinary(t)
	ctx := deadlineCtx(t, 75*time.Second)
	srv := startServer(t, bin, testRoom)
	data := dataDir(t, srv)
	cliOutput(t, bin, "number", "add", sharedNumber, "-shared", "-lang", "en", "-data", data)
	code := dialCode(t, cliOutput(t, bin, "room", "list", "-data", data), testRoom.slug)

	mpA := freeUDPPort(t)
	captA := startCapture(t, mpA)
	callA := startSipp(t, phoneCall(srv, callerDir(t, 440), 40000, mpA))
	if err := countLog(ctx, srv, "caller joined room", 1); err != nil {
		t.Fatalf("first caller: %v\n%s", err, callA.trace())
	}
	// One run of keys: the PIN barges into the PIN prompt that follows the code.
	callB := startSipp(t, sippCall{scenario: "caller.xml", dir: callerDir(t, 880), target: srv.sipAddr,
		service: sharedNumber, holdMs: 12000, keys: map[string]string{"pin": code + "#" + testPIN + "#"}})
	if err := countLog(ctx, srv, "dial-in code accepted", 1); err != nil {
		t.Fatalf("shared-number caller: %v\n%s", err, callB.trace())
	}
	if err := countLog(ctx, srv, "caller joined room", 2); err != nil {
		t.Fatalf("shared-number caller: %v\n%s", err, callB.trace())
	}
	joinedB := time.Now()
	if heard, err := waitTone(ctx, captA, joinedB, 880, 0.2); err != nil {
		t.Errorf("first caller hears the shared-number caller: %v", err)
	} else {
		t.Logf("first caller hears 880 Hz at %.2f of the power", ToneShare(heard, 8000, 880))
	}
	if err := callB.wait(ctx); err != nil {
		t.Fatalf("shared-number caller: %v", err)
	}
	if strings.Contains(srv.out.String(), code) {
		t.Errorf("server log contains the dial-in code; codes are typed like PINs and stay out of logs")
	}
	if err := callA.wait(ctx); err != nil {
		t.Fatalf("first caller: %v", err)
	}
}

// dialCode picks the CODE column of slug's row in "room list" output.
func dialCode(t *testing.T, list, slug string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(slug) + ` .* ([1-9][0-9]{5})$`).FindStringSubmatch(list)
	if m == nil {
		t.Fatalf("no dial-in code for %s in room list:\n%s", slug, list)
	}
	return m[1]
}
