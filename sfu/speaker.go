package sfu

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Active speaker detection from the RFC 6464 audio level that browsers put
// on every audio packet (and from the mixer's speaking flag for phones).
// Each participant has a voice-activity score: an exponential average of
// "this packet was louder than voicedLevel", so a word or two does not take
// the floor and a pause for breath does not lose it.
const (
	voicedLevel   = 50                     // -dBov; RFC 6464 sends 0 (loudest) to 127 (silence)
	voiceAlpha    = 0.05                   // per 20 ms packet: a time constant of about 0.4 s
	speakOn       = 0.5                    // score above which a participant speaks
	speakOff      = 0.2                    // score below which it stopped
	takeOverDelta = 0.25                   // how much louder a new dominant speaker must be
	speakerTick   = 200 * time.Millisecond // how often speaking states are re-evaluated
	voiceSilent   = 500 * time.Millisecond // no audio for this long counts as silence (DTX)
)

// Audio last-N: with a limit of n, browsers receive the audio of at most n
// browser participants, the loudest lately (the room's audible set); the
// audio of everyone else is not forwarded at all, so silence costs nothing.
// The set's audio reaches each browser on n audio slots (audioslot.go).
// Phone callers reach browsers as one track already mixed by the mixer,
// which is always forwarded; so is the audio of a client that sends no
// level (see unleveled), as long as a slot is free for it. Ranking uses loudness, an exponential average
// (time constant voiceAlpha) of how far each packet's level is above
// voicedLevel. A member of the set keeps its place, even when quiet, until
// someone louder by lastNDelta needs it, so a pause does not cut anyone off.
const (
	audibleMin = 0.05 // loudness a participant needs to enter the set
	lastNDelta = 0.1  // how much louder than the quietest member a newcomer must be
)

// voice is one participant's speech state.
type voice struct {
	score     float64
	loud      float64   // loudness, 0 (silence) to 1 (0 dBov)
	unleveled bool      // its audio carries no level; always audible under last-N
	lastAt    time.Time // last audio packet or phone flag
	lastSpoke time.Time
	speaking  bool
	phone     bool // speaking comes from the mixer; the room already announces it
}

// speakerEvents is what one tick found: web participants that started or
// stopped speaking, and a new dominant speaker.
type speakerEvents struct {
	speaking map[string]bool
	dominant *string
}

// speakers detects the speaking participants and the dominant speaker of a room.
type speakers struct {
	mu       sync.Mutex
	voices   map[string]*voice
	dominant string
	lastTick time.Time

	lastN int      // the audio last-N limit; 0 = everyone is audible
	top   []string // the audible set, lastN > 0 only

	// Audio slots (audioslot.go), lastN > 0 only: the occupant of each
	// slot ("" = free), the generation of each occupancy, and the slot
	// of each occupant, read per packet.
	slots    []string
	slotGens []uint64
	gen      uint64
	slotMap  atomic.Pointer[map[string]slotRef]
}

func newSpeakers() *speakers { return &speakers{voices: map[string]*voice{}} }

// setLastN sets the audio last-N limit (0 = everyone is audible).
func (s *speakers) setLastN(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastN, s.top = n, nil
	if n <= 0 {
		s.slots, s.slotGens = nil, nil
		s.slotMap.Store(nil)
		return
	}
	s.slots, s.slotGens = make([]string, n), make([]uint64, n)
	s.slotMap.Store(&map[string]slotRef{})
}

// slotOf returns the audio slot browser participant id occupies; ok is
// false when it occupies none (or last-N is off). It takes no lock: it runs
// for every audio packet.
func (s *speakers) slotOf(id string) (ref slotRef, ok bool) {
	m := s.slotMap.Load()
	if m == nil {
		return slotRef{}, false
	}
	ref, ok = (*m)[id]
	return ref, ok
}

// assignSlotsLocked maps the audible set onto the audio slots. A member
// keeps its slot while it stays audible; a newcomer takes a slot that was
// freed, the lowest free one. The ranked set (top) comes first; clients
// without levels, which the audible set always holds, get the slots left
// over, so with slots they are heard only while a slot is free.
func (s *speakers) assignSlotsLocked() {
	if len(s.slots) == 0 {
		return
	}
	want := slices.Clone(s.top)
	var unranked []string
	for id, v := range s.voices {
		if v.unleveled && !slices.Contains(want, id) {
			unranked = append(unranked, id)
		}
	}
	slices.Sort(unranked)
	want = append(want, unranked...)
	want = want[:min(len(want), len(s.slots))]
	changed := false
	for i, id := range s.slots {
		if id != "" && !slices.Contains(want, id) {
			s.slots[i] = ""
			changed = true
		}
	}
	for _, id := range want {
		if slices.Contains(s.slots, id) {
			continue
		}
		i := slices.Index(s.slots, "") // one is free: len(want) <= len(s.slots)
		s.gen++
		s.slots[i], s.slotGens[i] = id, s.gen
		changed = true
	}
	if !changed {
		return
	}
	m := make(map[string]slotRef, len(s.slots))
	for i, id := range s.slots {
		if id != "" {
			m[id] = slotRef{index: i, gen: s.slotGens[i]}
		}
	}
	s.slotMap.Store(&m)
}

// slotOccupants returns the occupant of each audio slot ("" = free), for tests.
func (s *speakers) slotOccupants() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.slots)
}

// isAudible reports whether browser participant id is in the audible set
// (the loudest and those whose audio carries no level; everyone with
// last-N off). Forwarding asks slotOf instead.
func (s *speakers) isAudible(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastN <= 0 || slices.Contains(s.top, id) {
		return true
	}
	v, ok := s.voices[id]
	return ok && v.unleveled
}

// pickAudibleLocked updates the audible set from the participants' loudness.
func (s *speakers) pickAudibleLocked() {
	if s.lastN <= 0 {
		return
	}
	cur := make([]string, 0, s.lastN)
	for _, id := range s.top {
		if v := s.voices[id]; v != nil && !v.phone {
			cur = append(cur, id)
		}
	}
	var cands []string
	for id, v := range s.voices {
		if !v.phone && v.loud >= audibleMin && !slices.Contains(cur, id) {
			cands = append(cands, id)
		}
	}
	slices.SortFunc(cands, func(a, b string) int {
		if c := cmp.Compare(s.voices[b].loud, s.voices[a].loud); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, id := range cands {
		if len(cur) < s.lastN {
			cur = append(cur, id)
			continue
		}
		w := 0
		for i := range cur {
			if s.voices[cur[i]].loud < s.voices[cur[w]].loud {
				w = i
			}
		}
		if s.voices[id].loud <= s.voices[cur[w]].loud+lastNDelta {
			break // the remaining candidates are quieter still
		}
		cur[w] = id
	}
	same := len(cur) == len(s.top)
	for _, id := range cur {
		same = same && slices.Contains(s.top, id)
	}
	if same {
		return
	}
	s.top = cur
	s.storeAudibleLocked()
}

// storeAudibleLocked maps the audible set, the loudest (s.top) and every
// participant whose audio carries no level, onto the slots.
func (s *speakers) storeAudibleLocked() {
	if s.lastN <= 0 {
		return
	}
	s.assignSlotsLocked()
}

// unleveled records that browser participant id sends audio without the
// level extension: it cannot be ranked, so it is always audible.
func (s *speakers) unleveled(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.voiceLocked(id)
	if !v.unleveled {
		v.unleveled = true
		s.storeAudibleLocked()
	}
}

// audibleSet returns the audible set (nil = everyone), for tests.
func (s *speakers) audibleSet() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastN <= 0 {
		return nil
	}
	return slices.Sorted(slices.Values(s.top))
}

func (s *speakers) voiceLocked(id string) *voice {
	v := s.voices[id]
	if v == nil {
		v = &voice{}
		s.voices[id] = v
	}
	return v
}

// level records one audio packet's level (-dBov) of a browser participant.
func (s *speakers) level(id string, dBov uint8, now time.Time) (speakerEvents, bool) {
	x, y := 0.0, 0.0
	if dBov < voicedLevel {
		x = 1
		y = float64(voicedLevel-dBov) / voicedLevel
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.voiceLocked(id)
	v.score += voiceAlpha * (x - v.score)
	v.loud += voiceAlpha * (y - v.loud)
	v.lastAt = now
	return s.tickLocked(now, false)
}

// phone records the mixer's speaking flag of a phone participant.
func (s *speakers) phone(id string, speaking bool, now time.Time) (speakerEvents, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.voiceLocked(id)
	v.phone, v.lastAt, v.speaking = true, now, speaking
	v.score = 0
	if speaking {
		v.score = 1
		v.lastSpoke = now
	}
	return s.tickLocked(now, true)
}

// remove forgets a participant who left.
func (s *speakers) remove(id string, now time.Time) (speakerEvents, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.voices, id)
	if s.dominant == id {
		s.dominant = ""
		s.lastTick = time.Time{}
	}
	ev, ok := s.tickLocked(now, true)
	s.storeAudibleLocked()
	if ev.dominant == nil && s.dominant == "" {
		d := ""
		ev.dominant, ok = &d, true
	}
	return ev, ok
}

// lastSpoke returns when participant id last spoke, Unix ns (0 = never).
func (s *speakers) lastSpoke(id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.voices[id]; v != nil && !v.lastSpoke.IsZero() {
		return v.lastSpoke.UnixNano()
	}
	return 0
}

// tickLocked re-evaluates every participant at most every speakerTick (or
// now when force is set).
func (s *speakers) tickLocked(now time.Time, force bool) (speakerEvents, bool) {
	if !force && now.Sub(s.lastTick) < speakerTick {
		return speakerEvents{}, false
	}
	s.lastTick = now
	var ev speakerEvents
	best, bestScore := "", speakOn
	for id, v := range s.voices {
		if !v.phone && now.Sub(v.lastAt) > voiceSilent {
			v.score, v.loud = 0, 0
		}
		if !v.phone {
			on := v.score > speakOn || (v.speaking && v.score > speakOff)
			if on != v.speaking {
				v.speaking = on
				if ev.speaking == nil {
					ev.speaking = map[string]bool{}
				}
				ev.speaking[id] = on
			}
			if on {
				v.lastSpoke = now
			}
		}
		if v.score > bestScore || (v.score == bestScore && best != "" && id < best) {
			best, bestScore = id, v.score
		}
	}
	s.pickAudibleLocked()
	if best != "" && best != s.dominant {
		cur := s.voices[s.dominant]
		if cur == nil || cur.score < speakOff || bestScore > cur.score+takeOverDelta {
			s.dominant = best
			d := best
			ev.dominant = &d
		}
	}
	return ev, ev.speaking != nil || ev.dominant != nil
}

// dominantSpeaker returns the current dominant speaker ("" = nobody yet).
func (s *speakers) dominantSpeaker() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dominant
}

// announce tells the room's browsers what a speaker tick found: speaking
// flags of browser participants (as "speaking", like phones) and a new
// dominant speaker.
func (r *Room) announce(ev speakerEvents) {
	r.mu.Lock()
	for id, on := range ev.speaking {
		if m := r.members[id]; m != nil && m.Speaking != on {
			m.Speaking = on
			r.rev++
		}
	}
	sigs := r.signallersLocked()
	r.mu.Unlock()
	for _, sig := range sigs {
		for id, on := range ev.speaking {
			sig.Speaking(id, on)
		}
		if ev.dominant != nil {
			if ms, ok := sig.(MediaSignaller); ok {
				ms.Speaker(*ev.dominant)
			}
		}
	}
}
