// Package mixer bridges phone calls and rooms. Each room with at least one phone
// caller gets one mixing loop on a 20 ms tick (room.go). Every input — phone legs
// and browser audio tracks — has a jitter buffer that adapts to the measured
// jitter (jitter.go) with loss concealment: G.711 Appendix I-style PLC for phone
// PCM (plc.go), Opus FEC and PLC for browsers (codec.go). Each tick the loudest
// few inputs become the talkers, with hysteresis (talk.go); only they are summed,
// once, in int32. Everyone else hears the same limited sum; a talking phone leg
// hears the sum minus its own voice (mix.go, deliver.go). Browser Opus is decoded
// only while the track talks (levels from the RFC 6464 header, ext.go), and a
// phone caller's voice is encoded to Opus for the browsers only while it speaks.
// The tick allocates nothing; Stats (stats.go) feeds the /metrics endpoint.
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
	SetMuted(muted bool)
	Leave()
}

// AudioSink receives browser audio RTP packets; OnAudio must not block.
type AudioSink interface {
	OnAudio(participantID string, pkt *rtp.Packet)
}

// Config tunes the mixer; zero values mean the defaults.
type Config struct {
	// Talkers is how many of the loudest inputs are mixed (default 3).
	Talkers int
	// AudioLevelID is the RTP header extension ID the SFU negotiated for the
	// RFC 6464 audio level; 0 means find it by its size (see audioLevel).
	AudioLevelID uint8
	// Now is the clock for packet arrival times (default time.Now); tests
	// inject their own to replay packet schedules deterministically.
	Now func() time.Time
}

// Mixer owns the mixing loops of all rooms that have phone callers.
type Mixer struct {
	sfu   SFU
	log   *slog.Logger
	cfg   Config
	stats counters

	// manualTick leaves the mixing loops unstarted so tests drive mixOnce.
	manualTick bool

	mu     sync.Mutex
	rooms  map[string]*room
	closed bool
}

// New returns a Mixer with the default Config that publishes phone callers into s.
func New(s SFU, log *slog.Logger) *Mixer { return NewWith(s, Config{}, log) }

// NewWith returns a Mixer configured by cfg that publishes phone callers into s.
func NewWith(s SFU, cfg Config, log *slog.Logger) *Mixer {
	if cfg.Talkers <= 0 {
		cfg.Talkers = DefaultTalkers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Mixer{sfu: s, log: log, cfg: cfg, rooms: map[string]*room{}}
}

// Join attaches a phone leg to room roomID: from now on leg receives the room's
// mix every 20 ms, and what the caller says (Member.Push) reaches the room.
func (m *Mixer) Join(roomID string, info PhoneInfo, leg Leg) (*Member, error) {
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
		r = newRoom(roomID, m.cfg, &m.stats, m.log)
		r.removeSink = m.sfu.AddAudioSink(roomID, r)
		m.rooms[roomID] = r
		if m.manualTick {
			close(r.done)
		} else {
			go r.run()
		}
	}
	fleg, _ := leg.(FrameLeg)
	mem := &Member{mixer: m, room: r, info: info, leg: leg, fleg: fleg, track: track,
		jb: newJitterCore(&m.stats), talk: talkState{level: levelFloor}}
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
	fleg  FrameLeg // leg, when it takes Frames (shared encodes); else nil
	track PhoneTrack

	// The caller's jitter buffer, guarded by mu (Push and the tick).
	mu    sync.Mutex
	jb    jitterCore
	slots [jbSlots][FrameSamples]int16
	slotN [jbSlots]int16 // samples in each slot: NarrowSamples (8 kHz) or FrameSamples

	// Owned by the room's tick goroutine.
	frame    [FrameSamples]int16
	n        int                 // samples in frame; NarrowSamples means 8 kHz
	wide     [FrameSamples]int16 // a narrowband talker's frame at 16 kHz
	mixed    []int16             // this tick's frame at 16 kHz while it talks (frame or wide)
	up       Upsampler
	upTick   uint64 // the tick the upsampler last ran
	out      Frame  // this leg's own N-1 mix while it talks
	outTick  uint64 // the tick out was last used
	handover int    // ticks left on out after talking (see handoverTicks)
	ownMix   bool
	plc      pcmPLC
	talk     talkState

	// Owned by the goroutine that calls Push.
	enc      *voiceEncoder // created when the caller first speaks (about 50 KB)
	encErr   error
	speaking speakingDetector
	seq      uint16

	leaveOnce sync.Once
}

// Push hands the mixer one frame of what the caller said, in arrival order:
// NarrowSamples of 8 kHz PCM (G.711) or FrameSamples of 16 kHz (wideband).
// A caller may change between the two (a codec change mid-call). Call it from one goroutine (the call's RTP reader); it
// never blocks on the network for long and keeps no reference to pcm.
func (mem *Member) Push(pcm []int16) {
	mem.seq++
	mem.PushSeq(mem.seq, pcm)
}

// PushSeq is Push for a caller whose frames carry a sequence number (one per
// 20 ms frame, e.g. the RTP sequence number of 20 ms packets): reordered,
// duplicated and lost frames are then handled by the jitter buffer instead of
// being played in arrival order. Use either Push or PushSeq for a member.
func (mem *Member) PushSeq(seq uint16, pcm []int16) {
	rate := NarrowRate
	switch len(pcm) {
	case NarrowSamples:
	case FrameSamples:
		rate = SampleRate
	default:
		return
	}
	mem.mu.Lock()
	if idx, ok := mem.jb.insert(seq, mem.mixer.cfg.Now()); ok {
		copy(mem.slots[idx][:], pcm)
		mem.slotN[idx] = int16(len(pcm))
	}
	mem.mu.Unlock()

	// The caller's voice goes to the browsers only while there is voice:
	// silence costs no encode and no packet (the browsers' jitter buffers
	// treat the gap like Opus DTX).
	ms := level(pcm)
	changed, speaking := mem.speaking.update(ms)
	if changed {
		mem.track.SetSpeaking(speaking)
	}
	if !speaking && ms < speakingThreshold {
		return
	}
	if mem.enc != nil && mem.enc.rate != rate {
		mem.enc = nil // the codec changed: an encoder for the new rate
	}
	if mem.enc == nil && mem.encErr == nil {
		if mem.enc, mem.encErr = newVoiceEncoder(rate); mem.encErr != nil {
			mem.mixer.log.Warn("mixer: opus encoder", "participant", mem.info.ID, "err", mem.encErr)
		}
	}
	if mem.enc == nil {
		return
	}
	if payload, ok := mem.enc.encode(pcm); ok {
		mem.mixer.stats.encodes.Add(1)
		if err := mem.track.WriteOpus(payload, FrameDuration); err != nil {
			mem.mixer.log.Debug("phone track write", "participant", mem.info.ID, "err", err)
		}
	}
}

// pop takes this tick's frame from the jitter buffer into mem.frame, with
// concealment for a lost frame; it reports whether mem.frame holds audio.
func (mem *Member) pop(ts *tickStats, now time.Time) bool {
	mem.mu.Lock()
	ts.observeDepth(mem.jb.depth())
	idx, res := mem.jb.pop(now)
	if res == popDrop {
		// Drift (the sender runs fast and the buffer has stayed too deep
		// for jbPatient ticks) or a frame more than the jitter needs: skip
		// one frame to bring the delay back.
		idx, res = mem.jb.pop(now)
	}
	if res == popFrame {
		mem.n = int(mem.slotN[idx])
		copy(mem.frame[:mem.n], mem.slots[idx][:mem.n])
	}
	mem.mu.Unlock()
	switch res {
	case popFrame:
		mem.plc.good(mem.frame[:mem.n])
		return true
	case popLost, popStretch:
		mem.plc.conceal(mem.frame[:])
		mem.n = mem.plc.n
		return true
	}
	return false
}

// widen returns this tick's frame at 16 kHz for the sum: the frame itself for
// a wideband caller, else the frame upsampled (only talkers get here, so a
// room of listening G.711 callers costs no resampling per caller).
func (mem *Member) widen(tick uint64) []int16 {
	if mem.n == FrameSamples {
		mem.mixed = mem.frame[:]
		return mem.mixed
	}
	if mem.upTick+1 != tick {
		mem.up.Reset() // talking again after a pause: no stale history
	}
	mem.upTick = tick
	mem.mixed = mem.up.Process(mem.wide[:], mem.frame[:NarrowSamples])
	return mem.mixed
}

// SetMuted shows in the room that the caller is muted (or no longer is). The
// phone side silences the caller itself by not pushing its voice.
func (mem *Member) SetMuted(muted bool) { mem.track.SetMuted(muted) }

// Leave removes the caller from the mix and the room. Idempotent.
func (mem *Member) Leave() {
	mem.leaveOnce.Do(func() { mem.mixer.leave(mem) })
}
