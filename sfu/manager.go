package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/webrtc/v4"
)

// ErrClosed is returned when a Manager, Room or participant has been closed.
var ErrClosed = errors.New("sfu: closed")

// Config says which addresses and ports ICE may use. The zero value lets ICE
// use every interface and any ephemeral UDP port.
type Config struct {
	ICEIPs        []string // keep only host candidates on these IPs; a loopback IP enables loopback candidates
	ICEInterfaces []string // keep only these network interfaces (by name)
	PublicIP      string   // announce this IP instead of the host's (1:1 NAT)
	UDPPortMin    uint16   // lowest UDP port for media; 0 with UDPPortMax 0 = any
	UDPPortMax    uint16   // highest UDP port for media
	// Transport, when set, supplies shared ICE sockets (one UDP port,
	// ICE-TCP) and the TURN servers browsers are given; see transport.go.
	// Its owner closes it after the Manager.
	Transport *Transport
	// OnModeration, when set, is told of every moderator action (moderate.go).
	OnModeration func(ModerationEvent)
	// IgnoreBandwidth makes each subscriber's layers depend on its tile
	// sizes only, never on its bandwidth estimate (which is still made):
	// for a LAN, and for tests on a loaded machine, where a CPU-starved
	// browser's delays look like congestion.
	IgnoreBandwidth bool
	// AudioLastN, when above 0, forwards to browsers the audio of only the
	// this many loudest browser participants (see speaker.go); phone
	// callers are always heard. 0 = everyone's audio.
	AudioLastN int
}

// Manager owns every room of this node and the pion API they share.
type Manager struct {
	api       *webrtc.API
	log       *slog.Logger
	transport *Transport // from Config; may be nil

	onModeration func(ModerationEvent) // from Config; may be nil

	pcMu            sync.Mutex // one NewPeerConnection at a time, so that bwe.take gets its estimator
	bwe             *estimatorCatcher
	ignoreBandwidth bool // from Config
	audioLastN      int  // from Config
	red             redCounters

	mu     sync.Mutex
	rooms  map[string]*Room
	closed bool
	wg     sync.WaitGroup // every goroutine started by any room
}

// NewManager builds the pion API from cfg: Opus and VP8 (H264 too), NACK
// answered from a shared packet cache, RTCP reports, no STUN or TURN, mDNS off.
func NewManager(cfg Config, log *slog.Logger) (*Manager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	api, bwe, err := newAPI(cfg)
	if err != nil {
		return nil, fmt.Errorf("sfu: new manager: %w", err)
	}
	m := &Manager{api: api, bwe: bwe, log: log, rooms: map[string]*Room{}}
	m.transport = cfg.Transport
	m.onModeration = cfg.OnModeration
	m.ignoreBandwidth = cfg.IgnoreBandwidth
	m.audioLastN = cfg.AudioLastN
	return m, nil
}

// newAPI registers the codecs, the interceptors (interceptors.go) and a
// send-side bandwidth estimator per PeerConnection (TWCC sequence numbers
// on the video the SFU sends, GCC on the browser's feedback).
func newAPI(cfg Config) (*webrtc.API, *estimatorCatcher, error) {
	me, err := newMediaEngine(cfg.AudioLastN > 0)
	if err != nil {
		return nil, nil, err
	}
	reg := &interceptor.Registry{}
	reg.Add(rtxFactory{}) // first: innermost, below the estimator's retransmission allowance (rtx.go)
	catcher, err := registerEstimator(me, reg)
	if err != nil {
		return nil, nil, fmt.Errorf("bandwidth estimator: %w", err)
	}
	if err := registerInterceptors(me, reg); err != nil {
		return nil, nil, fmt.Errorf("interceptors: %w", err)
	}
	se, err := settingEngine(cfg)
	if err != nil {
		return nil, nil, err
	}
	se.SetSRTPProtectionProfiles(srtpProfiles...) // transport.go
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg),
		webrtc.WithSettingEngine(se)), catcher, nil
}

// newPeerConnection creates a PeerConnection and returns its bandwidth
// estimator (nil if none was built).
func (m *Manager) newPeerConnection() (*webrtc.PeerConnection, cc.BandwidthEstimator, error) {
	m.pcMu.Lock()
	defer m.pcMu.Unlock()
	pc, err := m.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, nil, err
	}
	return pc, m.bwe.take(), nil
}

// newMediaEngine registers the codecs; with red, Opus in RED (red.go)
// before Opus itself, for the audio slots. Chrome sends RED only when red
// comes first in the answer, which keeps the offer's order.
func newMediaEngine(red bool) (*webrtc.MediaEngine, error) {
	me := &webrtc.MediaEngine{}
	type codec struct {
		c webrtc.RTPCodecParameters
		k webrtc.RTPCodecType
	}
	var codecs []codec
	if red {
		codecs = append(codecs, codec{webrtc.RTPCodecParameters{RTPCodecCapability: redCapability, PayloadType: redPayloadType}, webrtc.RTPCodecTypeAudio})
	}
	codecs = append(codecs, []codec{
		{webrtc.RTPCodecParameters{RTPCodecCapability: opusCapability, PayloadType: opusPayloadType}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}, PayloadType: 96}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: videoFeedback,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, PayloadType: 102}, webrtc.RTPCodecTypeVideo},
		// Retransmissions on their own SSRC (RFC 4588, rtx.go), for each video codec.
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=96"}, PayloadType: 97}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=102"}, PayloadType: 103}, webrtc.RTPCodecTypeVideo},
	}...)
	for _, c := range codecs {
		if err := me.RegisterCodec(c.c, c.k); err != nil {
			return nil, fmt.Errorf("register codec %s: %w", c.c.MimeType, err)
		}
	}
	// Registered first, so that pion offers it with ID 1 (AudioLevelID): the
	// mixer reads speech levels from it without decoding (RFC 6464).
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI},
		webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register audio level extension: %w", err)
	}
	return me, nil
}

// audioLevelURI names the RFC 6464 client-to-mixer audio level extension.
const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// AudioLevelID is the RTP header extension ID that the SFU's offers give the
// RFC 6464 audio level; browser audio packets handed to an AudioSink carry the
// level under this ID. The server always offers, so the browser's answer keeps it.
const AudioLevelID = 1

// opusCapability is the Opus every peer connection negotiates: in-band FEC
// (the mixer and browsers recover a lost packet from the next one) and DTX
// (usedtx=1: a silent microphone sends a small packet every 400 ms instead
// of 50 a second, so the silent majority of a large room costs the server
// and the uplinks almost nothing).
var opusCapability = webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1;usedtx=1",
}

var videoFeedback = []webrtc.RTCPFeedback{
	{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"},
}

func settingEngine(cfg Config) (webrtc.SettingEngine, error) {
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// pion gives a candidate pair up after 7 unanswered connectivity checks
	// (about 1.6 s); while a hundred participants join, a busy server or
	// browser can miss that many, and with one host pair the participant
	// never connects. 25 checks ride out a few seconds of overload.
	se.SetICEMaxBindingRequests(25)
	filter, loopback, err := ipFilter(cfg.ICEIPs)
	if err != nil {
		return se, err
	}
	if filter != nil {
		se.SetIPFilter(filter)
		se.SetIncludeLoopbackCandidate(loopback)
	}
	if len(cfg.ICEInterfaces) > 0 {
		names := slices.Clone(cfg.ICEInterfaces)
		se.SetInterfaceFilter(func(name string) bool { return slices.Contains(names, name) })
	}
	if cfg.PublicIP != "" {
		se.SetNAT1To1IPs([]string{cfg.PublicIP}, webrtc.ICECandidateTypeHost)
	}
	if cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return se, fmt.Errorf("udp port range: %w", err)
		}
	}
	cfg.Transport.apply(&se)
	return se, nil
}

// Room returns the room with this ID (the room slug), creating it if needed.
// After Close it returns a closed room on which every join fails.
func (m *Manager) Room(id string) *Room {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.rooms[id]; ok {
		return r
	}
	r := newRoom(id, m)
	r.speakers.setLastN(m.audioLastN)
	if m.closed {
		r.closed = true
		return r
	}
	m.rooms[id] = r
	return r
}

// Rooms returns every room that has participants, in no particular order.
func (m *Manager) Rooms() []*Room {
	m.mu.Lock()
	all := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		all = append(all, r)
	}
	m.mu.Unlock()
	busy := all[:0]
	for _, r := range all {
		if len(r.Roster().Participants) > 0 {
			busy = append(busy, r)
		}
	}
	return busy
}

// Close closes every PeerConnection of every room and waits for the goroutines
// that read and drain them. It is idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	rooms := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.closed = true
	m.rooms = map[string]*Room{}
	m.mu.Unlock()
	for _, r := range rooms {
		r.close()
	}
	m.wg.Wait()
	return nil
}

// goroutine runs f on a new goroutine that Close waits for. After Close it
// does nothing: everything f could read from is closed by then.
func (m *Manager) goroutine(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}
