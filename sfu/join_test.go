package sfu

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// newMic returns an Opus track for a test browser to publish.
func newMic(t *testing.T, stream string) *webrtc.TrackLocalStaticSample {
	t.Helper()
	mic, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", stream)
	if err != nil {
		t.Fatal(err)
	}
	return mic
}

// speakSilence sends Opus silence on mic every 20 ms until stop is closed.
func speakSilence(mic *webrtc.TrackLocalStaticSample, stop <-chan struct{}) {
	pace(stop, func() { _ = mic.WriteSample(media.Sample{Data: silence, Duration: 20 * time.Millisecond}) })
}

// streams collects the stream IDs of the tracks b receives.
type streams struct {
	mu  sync.Mutex
	ids map[string]bool
}

func collectStreams(b *browser) *streams {
	s := &streams{ids: map[string]bool{}}
	go func() {
		for {
			select {
			case <-b.done:
				return
			case tr := <-b.tracks:
				s.mu.Lock()
				s.ids[tr.StreamID()] = true
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// missing returns the IDs of want that s has not seen.
func (s *streams) missing(want []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range want {
		if !s.ids[id] {
			out = append(out, id)
		}
	}
	return out
}

// A burst of browsers joining a room at once: every one connects and
// receives the track of every other one (with audio slots: slot audio,
// and no offer but its first), and when some of them leave at once, no
// goroutine is left behind.
func TestManyJoinAtOnce(t *testing.T) {
	for _, lastN := range []int{0, 3} {
		t.Run(fmt.Sprintf("last-N %d", lastN), func(t *testing.T) { testManyJoinAtOnce(t, lastN) })
	}
}

func testManyJoinAtOnce(t *testing.T, lastN int) {
	const n = 12
	base := runtime.NumGoroutine()
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}, AudioLastN: lastN})
	room := m.Room("burst")
	stop := make(chan struct{})
	var talkers sync.WaitGroup
	bs := make([]*browser, n)
	got := make([]*streams, n)
	ids := make([]string, n)
	for i := range bs {
		name := fmt.Sprintf("p%d", i)
		mic := newMic(t, name)
		bs[i] = joinBrowser(t, room, name, mic)
		got[i] = collectStreams(bs[i])
		ids[i] = bs[i].peer.ID()
		talkers.Add(1)
		go func() {
			defer talkers.Done()
			speakSilence(mic, stop)
		}()
	}
	deadline := time.Now().Add(2 * testTimeout)
	for i, b := range bs {
		var want []string
		for j, id := range ids {
			if j != i {
				want = append(want, id)
			}
		}
		if lastN > 0 {
			// Silence without levels: three of them take the slots.
			want = []string{SlotStreamID}
		}
		for {
			miss := got[i].missing(want)
			connected := b.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
			if len(miss) == 0 && connected {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("participant %d: connected %v, tracks missing from %d of %d others: %v",
					i, connected, len(miss), n-1, miss)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if lastN > 0 {
		// Slot audio arrives a second after the joins (once the server
		// knows the audio carries no level), well after any renegotiation.
		for i, b := range bs {
			if slots, total := slotSections(t, b.pc.RemoteDescription().SDP); slots != lastN || total != 2+lastN {
				t.Errorf("participant %d: %d slot sections of %d, want %d of %d", i, slots, total, lastN, 2+lastN)
			}
			if got := b.sig.offered.Load(); got != 1 {
				t.Errorf("participant %d: %d offers, want only its first", i, got)
			}
		}
	}

	// A third of them leave at once; everyone else's roster shows it.
	var leaving sync.WaitGroup
	for _, b := range bs[:n/3] {
		leaving.Add(1)
		go func() {
			defer leaving.Done()
			b.peer.Leave()
		}()
	}
	leaving.Wait()
	if got, want := len(room.Roster().Participants), n-n/3; got != want {
		t.Errorf("participants after the leaves: got %d, want %d", got, want)
	}
	bs[n-1].waitRoster(func(r Roster) bool { return len(r.Participants) == n-n/3 })

	close(stop)
	talkers.Wait()
	for _, b := range bs {
		b.close()
	}
	m.Close()
	waitGoroutines(t, base)
}

// joinManual joins room as name without answering its offers: the test
// answers them with answerNext.
func joinManual(t *testing.T, room *Room, name string) *browser {
	t.Helper()
	b := newBrowser(t, loopbackAPI(t), nil, 8)
	b.join(room, name)
	return b
}

// answerNext answers the next offer b receives.
func (b *browser) answerNext() {
	b.t.Helper()
	select {
	case sdp := <-b.sig.offers:
		if err := b.answer(sdp); err != nil {
			b.t.Fatalf("answer: %v", err)
		}
	case <-time.After(testTimeout):
		b.t.Fatal("no offer")
	}
}

// A participant that leaves an offer unanswered delays nobody: a newcomer
// still gets its offer, connects and receives the room's tracks, and the
// slow participant gets every track once it answers.
func TestJoinNotHeldByUnansweredOffer(t *testing.T) {
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}})
	room := m.Room("glare")
	slow := joinManual(t, room, "Slow")
	slow.answerNext()
	slowGot := collectStreams(slow)

	stop := make(chan struct{})
	defer close(stop)
	bobMic := newMic(t, "bob")
	bob := joinBrowser(t, room, "Bob", bobMic)
	go speakSilence(bobMic, stop)
	// Bob's track makes the room offer it to Slow, who does not answer yet.
	var stale string
	select {
	case stale = <-slow.sig.offers:
	case <-time.After(testTimeout):
		t.Fatal("no offer for Bob's track")
	}

	carolMic := newMic(t, "carol")
	carol := joinBrowser(t, room, "Carol", carolMic)
	go speakSilence(carolMic, stop)
	carolGot := collectStreams(carol)
	deadline := time.Now().Add(testTimeout)
	for len(carolGot.missing([]string{bob.peer.ID()})) > 0 || carol.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		if time.Now().After(deadline) {
			t.Fatal("the newcomer did not connect and get the room's track while an offer to another participant was unanswered")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Slow answers the stale offer at last: the change queued meanwhile
	// (Carol's track) follows in a new offer, and Slow gets both tracks.
	if err := slow.answer(stale); err != nil {
		t.Fatalf("answer the stale offer: %v", err)
	}
	go slow.answerLoop()
	want := []string{bob.peer.ID(), carol.peer.ID()}
	for len(slowGot.missing(want)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after answering, the slow participant lacks the tracks of %v", slowGot.missing(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A burst of roster changes reaches the members as a few rosters, newest
// last, ending with the room as it is.
func TestRosterBurstCoalesced(t *testing.T) {
	const phones = 30
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}})
	room := m.Room("burst-roster")
	b := joinManual(t, room, "Ann")
	b.waitRoster(hasID(b.peer.ID()))
	for i := range phones {
		if _, err := room.AddPhone(PhoneInfo{ID: fmt.Sprintf("phone-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var rosters int
	var rev uint64
	deadline := time.After(testTimeout)
	for {
		select {
		case r := <-b.sig.rosters:
			rosters++
			if r.Rev <= rev {
				t.Fatalf("roster %d: rev %d after rev %d, want newer rosters only", rosters, r.Rev, rev)
			}
			rev = r.Rev
			if len(r.Participants) < phones+1 {
				continue
			}
			if rosters > phones/3 {
				t.Errorf("rosters for %d joins: got %d, want at most %d", phones, rosters, phones/3)
			}
			return
		case <-deadline:
			t.Fatalf("no roster with all %d phones after %d rosters", phones, rosters)
		}
	}
}
