// Package opusenc is a libopus encoder whose whole state can be copied to
// another encoder: a thin cgo wrapper of opus_encoder_create and the few
// CTLs the phone side sets (bitrate, complexity, in-band FEC, expected
// packet loss, maximum bandwidth, DTX).
//
// Why a copy is possible: libopus keeps an encoder in one contiguous block of
// opus_encoder_get_size(channels) bytes (the OpusEncoder header, then the
// SILK and the CELT encoder, found by offsets from the block's start, not by
// pointers). The only pointers in the block point to read-only static tables
// (the CELT mode, SILK's NLSF codebook, pitch iCDF and resampler
// coefficient tables) or are the surround energy masks, which stay NULL
// unless OPUS_SET_ENERGY_MASK is used (multistream surround; this package
// never sets it). That was read in the libopus sources (OpusEncoder, the
// SILK and CELT encoder structs, the tonality analysis; builds with DRED,
// libopus 1.5's --enable-dred, were not checked) and is tested on the
// libopus in use (TestCopyIndependentOfSource; Debian 12 has 1.3.1). So
// memcpy between two encoders made with the same sample rate, channels and
// application in the same process is a faithful copy: the target then
// produces byte for byte what the source would have. OPUS_RESET_STATE is
// not a substitute (it forgets the history a decoder relies on).
//
// An Encoder is not safe for concurrent use. It holds C memory: call Free
// when done (there is no finalizer). The package owns no RTP or mixing logic.
package opusenc

/*
#cgo pkg-config: opus
#include <string.h>
#include <opus.h>

static int dr_set_bitrate(OpusEncoder *st, opus_int32 v) { return opus_encoder_ctl(st, OPUS_SET_BITRATE(v)); }
static int dr_set_complexity(OpusEncoder *st, opus_int32 v) { return opus_encoder_ctl(st, OPUS_SET_COMPLEXITY(v)); }
static int dr_set_inband_fec(OpusEncoder *st, opus_int32 v) { return opus_encoder_ctl(st, OPUS_SET_INBAND_FEC(v)); }
static int dr_set_packet_loss_perc(OpusEncoder *st, opus_int32 v) { return opus_encoder_ctl(st, OPUS_SET_PACKET_LOSS_PERC(v)); }
static int dr_set_max_bandwidth(OpusEncoder *st, opus_int32 v) { return opus_encoder_ctl(st, OPUS_SET_MAX_BANDWIDTH(v)); }
static int dr_set_dtx(OpusEncoder *st, opus_int32 v) { return opus_encoder_ctl(st, OPUS_SET_DTX(v)); }
static int dr_get_bitrate(OpusEncoder *st, opus_int32 *v) { return opus_encoder_ctl(st, OPUS_GET_BITRATE(v)); }

static void dr_copy(OpusEncoder *dst, const OpusEncoder *src, int size) { memcpy(dst, src, size); }
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Application is the libopus coding mode an encoder is made for.
type Application int

// The applications of opus_encoder_create.
const (
	AppVoIP     Application = C.OPUS_APPLICATION_VOIP
	AppAudio    Application = C.OPUS_APPLICATION_AUDIO
	AppLowDelay Application = C.OPUS_APPLICATION_RESTRICTED_LOWDELAY
)

// Bandwidth is an audio bandwidth limit for SetMaxBandwidth.
type Bandwidth int

// The bandwidths of OPUS_SET_MAX_BANDWIDTH.
const (
	Narrowband    Bandwidth = C.OPUS_BANDWIDTH_NARROWBAND    // 4 kHz
	Mediumband    Bandwidth = C.OPUS_BANDWIDTH_MEDIUMBAND    // 6 kHz
	Wideband      Bandwidth = C.OPUS_BANDWIDTH_WIDEBAND      // 8 kHz
	Superwideband Bandwidth = C.OPUS_BANDWIDTH_SUPERWIDEBAND // 12 kHz
	Fullband      Bandwidth = C.OPUS_BANDWIDTH_FULLBAND      // 20 kHz
)

// ErrFreed is returned by an encoder used after Free.
var ErrFreed = errors.New("opusenc: encoder already freed")

// ErrMismatch is returned by CopyStateFrom between encoders whose state
// blocks differ in layout (sample rate, channels or application differ).
var ErrMismatch = errors.New("opusenc: encoders differ in rate, channels or application")

// ErrShortBuffer means dst cannot hold the packet, or pcm is empty.
var ErrShortBuffer = errors.New("opusenc: buffer too short")

// Error is a libopus error code.
type Error int

func (e Error) Error() string {
	return "opusenc: " + C.GoString(C.opus_strerror(C.int(e)))
}

// Encoder turns 16-bit PCM into Opus packets.
type Encoder struct {
	st       *C.OpusEncoder
	size     C.int // bytes of the state block
	rate     int
	channels int
	app      Application
}

// New returns an encoder of rate Hz (8000, 12000, 16000, 24000 or 48000)
// and 1 or 2 channels, with libopus's default settings.
func New(rate, channels int, app Application) (*Encoder, error) {
	size := C.opus_encoder_get_size(C.int(channels))
	if size <= 0 {
		return nil, fmt.Errorf("opusenc: new encoder: %d channels: %w", channels, Error(C.OPUS_BAD_ARG))
	}
	var cerr C.int
	st := C.opus_encoder_create(C.opus_int32(rate), C.int(channels), C.int(app), &cerr)
	if cerr != C.OPUS_OK || st == nil {
		if st != nil {
			C.opus_encoder_destroy(st)
		}
		return nil, fmt.Errorf("opusenc: new encoder %d Hz, %d channels: %w", rate, channels, Error(cerr))
	}
	return &Encoder{st: st, size: size, rate: rate, channels: channels, app: app}, nil
}

// SampleRate is the PCM rate the encoder takes (Hz).
func (e *Encoder) SampleRate() int { return e.rate }

// Channels is the number of interleaved channels the encoder takes.
func (e *Encoder) Channels() int { return e.channels }

// Encode writes the Opus packet of pcm (one frame of 2.5, 5, 10, 20, 40 or
// 60 ms, channels interleaved) into dst and returns its length. dst should
// have room for 1275 bytes (RFC 6716 §3.2.1); a smaller dst caps the packet.
func (e *Encoder) Encode(dst []byte, pcm []int16) (int, error) {
	if e.st == nil {
		return 0, ErrFreed
	}
	if len(dst) == 0 || len(pcm) < e.channels {
		return 0, ErrShortBuffer
	}
	n := C.opus_encode(e.st, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)/e.channels),
		(*C.uchar)(unsafe.Pointer(&dst[0])), C.opus_int32(len(dst)))
	if n < 0 {
		return 0, Error(n)
	}
	return int(n), nil
}

// ctl runs one setter CTL.
func (e *Encoder) ctl(name string, f func(*C.OpusEncoder) C.int) error {
	if e.st == nil {
		return ErrFreed
	}
	if r := f(e.st); r != C.OPUS_OK {
		return fmt.Errorf("opusenc: set %s: %w", name, Error(r))
	}
	return nil
}

// SetBitrate sets the target bitrate (bit/s, 500 to 512000).
func (e *Encoder) SetBitrate(bps int) error {
	return e.ctl("bitrate", func(st *C.OpusEncoder) C.int { return C.dr_set_bitrate(st, C.opus_int32(bps)) })
}

// Bitrate returns the target bitrate (bit/s).
func (e *Encoder) Bitrate() (int, error) {
	if e.st == nil {
		return 0, ErrFreed
	}
	var v C.opus_int32
	if r := C.dr_get_bitrate(e.st, &v); r != C.OPUS_OK {
		return 0, fmt.Errorf("opusenc: get bitrate: %w", Error(r))
	}
	return int(v), nil
}

// SetComplexity sets the CPU/quality trade-off, 0 to 10.
func (e *Encoder) SetComplexity(c int) error {
	return e.ctl("complexity", func(st *C.OpusEncoder) C.int { return C.dr_set_complexity(st, C.opus_int32(c)) })
}

// SetInBandFEC turns SILK's in-band forward error correction on or off.
func (e *Encoder) SetInBandFEC(on bool) error {
	return e.ctl("in-band FEC", func(st *C.OpusEncoder) C.int { return C.dr_set_inband_fec(st, cbool(on)) })
}

// SetPacketLossPerc tells the encoder the expected packet loss (0-100 %).
func (e *Encoder) SetPacketLossPerc(p int) error {
	return e.ctl("packet loss", func(st *C.OpusEncoder) C.int { return C.dr_set_packet_loss_perc(st, C.opus_int32(p)) })
}

// SetMaxBandwidth caps the coded audio bandwidth.
func (e *Encoder) SetMaxBandwidth(b Bandwidth) error {
	return e.ctl("max bandwidth", func(st *C.OpusEncoder) C.int { return C.dr_set_max_bandwidth(st, C.opus_int32(b)) })
}

// SetDTX turns discontinuous transmission on or off.
func (e *Encoder) SetDTX(on bool) error {
	return e.ctl("DTX", func(st *C.OpusEncoder) C.int { return C.dr_set_dtx(st, cbool(on)) })
}

func cbool(b bool) C.opus_int32 {
	if b {
		return 1
	}
	return 0
}

// CopyStateFrom makes e an exact copy of src, its settings (bitrate,
// complexity, …) included: from now on e continues the stream src has been
// producing, so a decoder that followed src can follow e. The two must have
// the same sample rate, channels and application (else ErrMismatch, and e
// is unchanged).
func (e *Encoder) CopyStateFrom(src *Encoder) error {
	if e.st == nil || src == nil || src.st == nil {
		return ErrFreed
	}
	if e == src {
		return nil
	}
	if e.rate != src.rate || e.channels != src.channels || e.app != src.app || e.size != src.size {
		return ErrMismatch
	}
	C.dr_copy(e.st, src.st, e.size)
	return nil
}

// NewCopy returns a new encoder in e's state (see CopyStateFrom).
func (e *Encoder) NewCopy() (*Encoder, error) {
	if e.st == nil {
		return nil, ErrFreed
	}
	c, err := New(e.rate, e.channels, e.app)
	if err != nil {
		return nil, err
	}
	if err := c.CopyStateFrom(e); err != nil {
		c.Free()
		return nil, err
	}
	return c, nil
}

// Free releases the encoder's C memory; Encode then returns ErrFreed.
// Idempotent.
func (e *Encoder) Free() {
	if e.st != nil {
		C.opus_encoder_destroy(e.st)
		e.st = nil
	}
}

// Version is the libopus version string, e.g. "libopus 1.3.1".
func Version() string { return C.GoString(C.opus_get_version_string()) }
