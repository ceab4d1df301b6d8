// Package mixer bridges phone calls and rooms. Each room with at least one phone
// caller gets one mixing loop on a 20 ms tick: it sums every input once (phone legs
// and browser audio tracks) in int32, then hands each phone leg the sum minus its
// own voice through a soft limiter. Each phone caller's own voice is encoded to
// Opus and published into the SFU room as that caller's track, so browsers hear
// and see phone callers like anyone else.
//
// The mixer owns audio only: SIP signalling and G.711 live in sip, WebRTC in sfu.
// It reaches the SFU through the small SFU interface below, which cmd/dialroom
// implements on top of *sfu.Manager.
package mixer

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// FrameDuration is the length of one mixing tick.
const FrameDuration = 20 * time.Millisecond

// ErrClosed is returned by Join after Close.
var ErrClosed = errors.New("mixer: closed")

// SFU is what the mixer needs of the WebRTC side.
type SFU interface {
	// AddPhone makes a phone caller a participant of room roomID with its own
	// Opus audio track.
	AddPhone(roomID string, info PhoneInfo) (PhoneTrack, error)
	// AddAudioSink subscribes sink to every browser audio packet of the room.
	AddAudioSink(roomID string, sink AudioSink) (remove func())
}

// PhoneTrack is a phone caller's presence in an SFU room.
type PhoneTrack interface {
	WriteOpus(payload []byte, d time.Duration) error
	SetSpeaking(speaking bool)
	Leave()
}

// AudioSink receives browser audio RTP packets; OnAudio must not block.
type AudioSink interface {
	OnAudio(participantID string, pkt *rtp.Packet)
}

// Mixer owns the mixing loops of all rooms that have phone callers.
type Mixer struct {
	sfu SFU
	log *slog.Logger

	// manualTick leaves the mixing loops unstarted so tests drive mixOnce.
	manualTick bool

	mu     sync.Mutex
	rooms  map[string]*room
	closed bool
}

// New returns a Mixer that publishes phone callers into s.
func New(s SFU, log *slog.Logger) *Mixer {
	return &Mixer{sfu: s, log: log, rooms: map[string]*room{}}
}

// Join attaches a phone leg to room roomID: from now on leg receives the room's
// mix every 20 ms, and what the caller says (Member.Push) reaches the room.
func (m *Mixer) Join(roomID string, info PhoneInfo, leg Leg) (*Member, error) {
	enc, err := newVoiceEncoder()
	if err != nil {
		return nil, fmt.Errorf("mixer: join %s: %w", info.ID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	track, err := m.sfu.AddPhone(roomID, info)
	if err != nil {
		return nil, fmt.Errorf("mixer: join %s: %w", info.ID, err)
	}
	r := m.rooms[roomID]
	if r == nil {
		r = newRoom(roomID, m.log)
		r.removeSink = m.sfu.AddAudioSink(roomID, r)
		m.rooms[roomID] = r
		if m.manualTick {
			close(r.done)
		} else {
			go r.run()
		}
	}
	mem := &Member{mixer: m, room: r, info: info, leg: leg, track: track, enc: enc}
	r.add(mem)
	m.log.Debug("phone joined mix", "room", roomID, "participant", info.ID)
	return mem, nil
}

// leave detaches mem and stops the room's loop when no phone caller is left.
func (m *Mixer) leave(mem *Member) {
	m.mu.Lock()
	r := mem.room
	empty := r.remove(mem)
	if empty && m.rooms[r.id] == r {
		delete(m.rooms, r.id)
	}
	m.mu.Unlock()
	mem.track.Leave()
	if empty {
		r.close()
	}
}

// Close stops every mixing loop and removes every phone track. Members that
// call Leave afterwards are harmless.
func (m *Mixer) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	rooms := m.rooms
	m.rooms = map[string]*room{}
	m.mu.Unlock()
	for _, r := range rooms {
		for _, mem := range r.snapshotMembers() {
			mem.Leave()
		}
		r.close()
	}
	return nil
}

// Member is one phone leg in a room's mix.
type Member struct {
	mixer *Mixer
	room  *room
	info  PhoneInfo
	leg   Leg
	track PhoneTrack

	// Guarded by room.mu.
	in pcmQueue

	// Owned by the room's tick goroutine.
	frame [FrameSamples]int16
	has   bool

	// Owned by the goroutine that calls Push.
	enc      *voiceEncoder
	speaking speakingDetector

	leaveOnce sync.Once
}

// Push hands the mixer one frame (FrameSamples of 8 kHz PCM) of what the caller
// said. Call it from one goroutine (the call's RTP reader); it never blocks on
// the network for long and keeps no reference to pcm.
func (mem *Member) Push(pcm []int16) {
	mem.room.mu.Lock()
	mem.in.push(pcm)
	mem.room.mu.Unlock()

	if changed, now := mem.speaking.update(level(pcm)); changed {
		mem.track.SetSpeaking(now)
	}
	if payload, ok := mem.enc.encode(pcm); ok {
		if err := mem.track.WriteOpus(payload, FrameDuration); err != nil {
			mem.mixer.log.Debug("phone track write", "participant", mem.info.ID, "err", err)
		}
	}
}

// Leave removes the caller from the mix and the room. Idempotent.
func (mem *Member) Leave() {
	mem.leaveOnce.Do(func() { mem.mixer.leave(mem) })
}
