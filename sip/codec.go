package sip

import (
	"io"

	"gopkg.in/hraban/opus.v2"

	"dialroom/internal/g722"
	"dialroom/internal/opusenc"
	"dialroom/mixer"
)

// Codec is an audio codec of the phone side.
type Codec int

// The codecs the server speaks. The G.711 and G.722 values are their static
// RTP payload types (RFC 3551); Opus has none (RFC 7587: dynamic), so its
// value is only a name.
const (
	PCMU Codec = 0   // G.711 µ-law, 8 kHz, payload type 0
	PCMA Codec = 8   // G.711 A-law, 8 kHz, payload type 8
	G722 Codec = 9   // G.722 at 64 kbit/s, 16 kHz audio, payload type 9
	Opus Codec = 200 // Opus, here 16 kHz audio, dynamic payload type
)

// String returns the SDP encoding name: "PCMU", "PCMA", "G722" or "opus".
func (c Codec) String() string {
	switch c {
	case PCMA:
		return "PCMA"
	case G722:
		return "G722"
	case Opus:
		return "opus"
	}
	return "PCMU"
}

// rtpmap is the codec's a=rtpmap encoding: name, RTP clock rate and, for
// Opus, channels. G.722's clock is 8000 although it samples at 16 kHz (RFC
// 3551 §4.5.2 keeps an error of RFC 1890 for compatibility); Opus always
// says 48000/2 whatever it carries (RFC 7587 §7).
func (c Codec) rtpmap() string {
	switch c {
	case G722:
		return "G722/8000"
	case Opus:
		return "opus/48000/2"
	}
	return c.String() + "/8000"
}

// wideband reports whether the codec carries 16 kHz audio.
func (c Codec) wideband() bool { return c == G722 || c == Opus }

// clockRate is the RTP timestamp rate (Hz), for jitter in reports.
func (c Codec) clockRate() int64 {
	if c == Opus {
		return 48000
	}
	return 8000
}

// tsPerFrame is how far the RTP timestamp advances per 20 ms packet: 160
// for G.711 and, by the clock quirk, G.722; 960 for Opus's 48 kHz clock.
func (c Codec) tsPerFrame() uint32 { return uint32(c.clockRate() / 50) }

// frameSamples is one 20 ms frame of the codec's decoded PCM: 8 kHz
// (mixer.NarrowSamples) for G.711, 16 kHz (mixer.FrameSamples) otherwise.
func (c Codec) frameSamples() int {
	if c.wideband() {
		return mixer.FrameSamples
	}
	return mixer.NarrowSamples
}

// Frame encoding slots (mixer.Frame.Encoded and EncodedWith) of the codecs.
const (
	slotULaw = 0
	slotALaw = 1
	slotG722 = 2
	slotOpus = 3
)

// Opus settings for phone legs: 16 kHz speech; 28 kbit/s leaves room for
// the in-band FEC (RFC 6716 §2.1.7), which the encoder only adds when it
// expects loss, hence the assumed 5 %.
const (
	opusPhoneRate    = 16000
	opusPhoneBitrate = 28000
	opusPhoneLoss    = 5
	// opusPhoneComplexity trades quality for CPU (0-10; libopus's default
	// is 10). Every talker on an Opus phone leg costs one encode per tick.
	opusPhoneComplexity = 5
)

// g722Encoder adapts g722.Encoder to mixer.Encoder. Its state is C
// memory, so it is an io.Closer: the mixer closes the encoders of its
// Frames when they are done, a leg closes its own.
type g722Encoder struct{ enc *g722.Encoder }

func newG722Encoder() (mixer.Encoder, error) {
	enc, err := g722.NewEncoder()
	if err != nil {
		return nil, err
	}
	return &g722Encoder{enc: enc}, nil
}

func (e *g722Encoder) Encode(dst []byte, pcm []int16) (int, error) { return e.enc.Encode(dst, pcm) }

// NewCopy implements mixer.StateCopier: a new encoder in e's state.
func (e *g722Encoder) NewCopy() (mixer.Encoder, error) {
	c, err := g722.NewEncoder()
	if err != nil {
		return nil, err
	}
	if err := c.CopyStateFrom(e.enc); err != nil {
		c.Free()
		return nil, err
	}
	return &g722Encoder{enc: c}, nil
}

// CopyStateFrom implements mixer.StateCopier for another G.722 encoder.
func (e *g722Encoder) CopyStateFrom(src mixer.Encoder) bool {
	s, ok := src.(*g722Encoder)
	return ok && e.enc.CopyStateFrom(s.enc) == nil
}

// Close frees the C state; Encode then fails. Idempotent.
func (e *g722Encoder) Close() error {
	e.enc.Free()
	return nil
}

// opusEncoder adapts opusenc.Encoder to mixer.Encoder. Its state is C
// memory that can be copied, so, as with G.722, a talker's own encoder
// starts where the room's stream stands and its phone hears no seam. It is
// an io.Closer like g722Encoder.
type opusEncoder struct{ enc *opusenc.Encoder }

func newOpusEncoder() (mixer.Encoder, error) {
	enc, err := opusenc.New(opusPhoneRate, 1, opusenc.AppVoIP)
	if err != nil {
		return nil, err
	}
	for _, err := range []error{
		enc.SetBitrate(opusPhoneBitrate),
		enc.SetInBandFEC(true),
		enc.SetPacketLossPerc(opusPhoneLoss),
		enc.SetComplexity(opusPhoneComplexity),
		enc.SetMaxBandwidth(opusenc.Wideband),
	} {
		if err != nil {
			enc.Free()
			return nil, err
		}
	}
	return &opusEncoder{enc: enc}, nil
}

func (e *opusEncoder) Encode(dst []byte, pcm []int16) (int, error) { return e.enc.Encode(dst, pcm) }

// NewCopy implements mixer.StateCopier: a new encoder in e's state, its
// settings included.
func (e *opusEncoder) NewCopy() (mixer.Encoder, error) {
	c, err := e.enc.NewCopy()
	if err != nil {
		return nil, err
	}
	return &opusEncoder{enc: c}, nil
}

// CopyStateFrom implements mixer.StateCopier for another Opus encoder of
// the phone legs' rate and channels.
func (e *opusEncoder) CopyStateFrom(src mixer.Encoder) bool {
	s, ok := src.(*opusEncoder)
	return ok && e.enc.CopyStateFrom(s.enc) == nil
}

// Close frees the C state; Encode then fails. Idempotent.
func (e *opusEncoder) Close() error {
	e.enc.Free()
	return nil
}

// newEncoderFor returns a fresh encoder of 16 kHz audio for a wideband
// codec (a leg's own, for prompts and silence).
func newEncoderFor(c Codec) (mixer.Encoder, error) {
	if c == Opus {
		return newOpusEncoder()
	}
	return newG722Encoder()
}

// closeEncoder releases e's outside memory, if it has any.
func closeEncoder(e mixer.Encoder) {
	if c, ok := e.(io.Closer); ok {
		_ = c.Close()
	}
}

// maxDecoded is the most PCM one packet decodes to: 120 ms at 16 kHz, the
// longest Opus packet; G.711 and G.722 payloads are cut to 60 ms.
const maxDecoded = 6 * mixer.FrameSamples

// maxG711Bytes is 60 ms of G.711 or G.722: longer payloads are cut there.
const maxG711Bytes = 3 * mixer.NarrowSamples

// rxDecoder decodes the caller's audio payloads for the reader goroutine:
// G.711 to 8 kHz, G.722 and Opus to 16 kHz. It follows the call's codec
// when a re-INVITE changes it. Not safe for concurrent use.
type rxDecoder struct {
	codec Codec
	g722  *g722.Decoder
	opus  *opus.Decoder
	pcm   [maxDecoded]int16
}

// use switches to codec c, with a fresh decoder state.
func (d *rxDecoder) use(c Codec) error {
	d.close()
	d.codec = c
	var err error
	switch c {
	case G722:
		d.g722, err = g722.NewDecoder()
	case Opus:
		d.opus, err = opus.NewDecoder(opusPhoneRate, 1)
	}
	return err
}

// decode returns the PCM of payload in d's buffer, valid until the next
// call; nil when the payload does not decode.
func (d *rxDecoder) decode(payload []byte) []int16 {
	if d.codec != Opus && len(payload) > maxG711Bytes {
		payload = payload[:maxG711Bytes]
	}
	var k int
	switch d.codec {
	case PCMA:
		k = DecodeALaw(d.pcm[:], payload)
	case PCMU:
		k = DecodeULaw(d.pcm[:], payload)
	case G722:
		if d.g722 == nil {
			return nil
		}
		var err error
		if k, err = d.g722.Decode(d.pcm[:], payload); err != nil {
			return nil
		}
	case Opus:
		if d.opus == nil || len(payload) == 0 {
			return nil
		}
		var err error
		if k, err = d.opus.Decode(payload, d.pcm[:]); err != nil {
			return nil
		}
	}
	return d.pcm[:k]
}

// conceal returns one 20 ms frame standing in for a lost Opus packet: the
// in-band FEC copy carried by next (the packet after the loss) when next
// is not nil and has one, else the decoder's loss concealment. nil for
// other codecs (the mixer's jitter buffer conceals their losses).
func (d *rxDecoder) conceal(next []byte) []int16 {
	if d.codec != Opus || d.opus == nil {
		return nil
	}
	// Capped: hraban/opus passes cap(out) to libopus as the frame size,
	// and a FEC decode longer than the lost frame would conceal by PLC first.
	out := d.pcm[:mixer.FrameSamples:mixer.FrameSamples]
	if next != nil && d.opus.DecodeFEC(next, out) == nil {
		return out
	}
	if d.opus.DecodePLC(out) != nil {
		return nil
	}
	return out
}

// close releases the decoder state. Idempotent.
func (d *rxDecoder) close() {
	if d.g722 != nil {
		d.g722.Free()
		d.g722 = nil
	}
	d.opus = nil
}
