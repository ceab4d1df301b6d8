package web

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"dialroom/dialplan"
	"dialroom/sfu"
)

// TestNumbersOnlyForModerators: a phone caller's full number reaches the
// moderators' rosters only when the operator allowed it, never a
// participant's, and never the admin API's live view.
func TestNumbersOnlyForModerators(t *testing.T) {
	const full = "+49301234567"
	for _, show := range []bool{false, true} {
		e := newTestEnv(t, func(c *Config, _ *dialplan.Store) {
			c.ModSecret, c.ShowNumbersToModerators = testSecret, show
		})
		srv, mgr, token := e.srv, e.mgr, e.token
		if _, err := e.store.AddRoom(context.Background(), "demo", "Demo", "", "en"); err != nil {
			t.Fatal(err)
		}

		mod := dialJoin(t, srv, "demo", "Mia", ModeratorToken(testSecret, "demo"), "").ws
		part := dialJoin(t, srv, "demo", "Pia", "", "").ws
		if _, err := mgr.Room("demo").AddPhone(sfu.PhoneInfo{ID: "phone-n", Label: dialplan.MaskNumber(full), Number: full}); err != nil {
			t.Fatal(err)
		}
		modRoster := rawRosterWith(t, mod, "phone-n")
		partRoster := rawRosterWith(t, part, "phone-n")
		if got := strings.Contains(modRoster, full); got != show {
			t.Errorf("show=%v: moderator's roster holds the full number: %v (%s)", show, got, modRoster)
		}
		if strings.Contains(partRoster, full) {
			t.Errorf("show=%v: participant's roster holds the full number: %s", show, partRoster)
		}
		if !strings.Contains(partRoster, dialplan.MaskNumber(full)) {
			t.Errorf("show=%v: participant's roster lacks the masked label: %s", show, partRoster)
		}
		if code, body := call(t, srv, token, "GET", "/api/v1/live", ""); code != 200 || strings.Contains(body, full) || !strings.Contains(body, "phone-n") {
			t.Errorf("show=%v: admin live view: %d %s, want 200 with the phone and without its full number", show, code, body)
		}
		mod.Close()
		part.Close()
	}
}

// rawRosterWith reads until a roster that lists participant id and
// returns it as sent.
func rawRosterWith(t *testing.T, ws *websocket.Conn, id string) string {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(wsTimeout))
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for a roster with %s: %v", id, err)
		}
		var m struct {
			Type         string `json:"type"`
			Participants []struct {
				ID string `json:"id"`
			} `json:"participants"`
		}
		if json.Unmarshal(data, &m) != nil || m.Type != "roster" {
			continue
		}
		for _, p := range m.Participants {
			if p.ID == id {
				return string(data)
			}
		}
	}
}
