package main

import (
	"testing"

	"dialroom/mixer"
	"dialroom/sfu"
)

// lockOwner is a phone owner that also implements sfu.MuteLocker.
type lockOwner struct{ locks []bool }

func (o *lockOwner) SetMuted(bool)             {}
func (o *lockOwner) Remove()                   {}
func (o *lockOwner) End()                      {}
func (o *lockOwner) SetMuteLocked(locked bool) { o.locks = append(o.locks, locked) }

// The adapter hands the phone owner to the room unwrapped, so the room's
// mute_lock reaches sfu.MuteLocker.
func TestSFUAdapterPassesMuteLocker(t *testing.T) {
	m, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	o := &lockOwner{}
	if _, err := (sfuAdapter{m: m}).AddPhone("r", mixer.PhoneInfo{ID: "phone-1", Owner: o}); err != nil {
		t.Fatal(err)
	}
	if err := m.Room("r").MuteLock(sfu.AdminActor, "phone-1", true); err != nil {
		t.Fatal(err)
	}
	if len(o.locks) != 1 || !o.locks[0] {
		t.Errorf("owner locks: got %v, want [true]", o.locks)
	}
}
