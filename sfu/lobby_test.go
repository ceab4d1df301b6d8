package sfu

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// recWaiter records what a waiting guest is told.
type recWaiter struct {
	mu     sync.Mutex
	states []LobbyStatus
}

func (w *recWaiter) LobbyStatus(s LobbyStatus) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.states = append(w.states, s)
}

func (w *recWaiter) last() LobbyStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.states) == 0 {
		return LobbyStatus{}
	}
	return w.states[len(w.states)-1]
}

func lobbyRoom(t *testing.T) *Room {
	t.Helper()
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}})
	return m.Room("demo")
}

// TestLobbyBounds: the lobby holds at most its limit of guests, and a
// guest who waits too long is told and removed.
func TestLobbyBounds(t *testing.T) {
	r := lobbyRoom(t)
	r.lobby.max = 2
	r.lobby.maxWait = 50 * time.Millisecond
	a, b := &recWaiter{}, &recWaiter{}
	if _, err := r.Wait("a", a); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Wait("b", b); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Wait("c", &recWaiter{}); !errors.Is(err, ErrLobbyFull) {
		t.Errorf("third guest with a limit of 2: got %v, want ErrLobbyFull", err)
	}
	if got := a.last(); got.State != LobbyWaiting || got.Moderator {
		t.Errorf("first status: got %+v, want waiting without a moderator", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.last().State != LobbyTimeout || b.last().State != LobbyTimeout {
		if time.Now().After(deadline) {
			t.Fatalf("after maxWait: got %+v and %+v, want timeout", a.last(), b.last())
		}
		time.Sleep(10 * time.Millisecond) // polling for the timer
	}
	r.lobby.mu.Lock()
	n := len(r.lobby.guests)
	r.lobby.mu.Unlock()
	if n != 0 {
		t.Errorf("after timeouts: %d guests left, want 0", n)
	}
	if _, err := r.Wait("d", &recWaiter{}); err != nil {
		t.Errorf("after timeouts there is room again: %v", err)
	}
}

// TestLobbyDecisions: only moderators (and the admin) decide; an admitted
// guest's admission is taken once; leaving removes a guest.
func TestLobbyDecisions(t *testing.T) {
	r := lobbyRoom(t)
	w := &recWaiter{}
	id, err := r.Wait("a", w)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Admit("web-nobody", id); !errors.Is(err, ErrNoParticipant) {
		t.Errorf("admit by a stranger: got %v, want ErrNoParticipant", err)
	}
	if _, ok := r.TakeAdmission(id); ok {
		t.Errorf("admission taken before admit")
	}
	if err := r.Admit(AdminActor, id); err != nil {
		t.Fatal(err)
	}
	if got := w.last().State; got != LobbyAdmitted {
		t.Errorf("after admit: got %q", got)
	}
	if err := r.Deny(AdminActor, id); !errors.Is(err, ErrNoGuest) {
		t.Errorf("deny after admit: got %v, want ErrNoGuest", err)
	}
	if name, ok := r.TakeAdmission(id); !ok || name != "a" {
		t.Errorf("take admission: got %q %v, want a true", name, ok)
	}
	if _, ok := r.TakeAdmission(id); ok {
		t.Errorf("admission taken twice")
	}
	id2, _ := r.Wait("b", &recWaiter{})
	r.LeaveLobby(id2)
	if err := r.Admit(AdminActor, id2); !errors.Is(err, ErrNoGuest) {
		t.Errorf("admit after leaving: got %v, want ErrNoGuest", err)
	}
}
