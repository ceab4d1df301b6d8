// @ts-check
// audio.js measures audio with WebAudio: speaking detection for tiles and the
// audioPeak test hook. It touches no DOM.

/** Audio is one AudioContext shared by every measurement on the page. */
export class Audio {
  constructor() {
    /** @type {AudioContext|null} */
    this.ctx = null;
    /** @type {Map<string, {stop: () => void}>} */
    this.watchers = new Map();
  }

  /** context creates (or resumes) the AudioContext; call it from a click. */
  context() {
    if (!this.ctx) this.ctx = new AudioContext();
    if (this.ctx.state === 'suspended') this.ctx.resume();
    return this.ctx;
  }

  /**
   * watch calls onChange whenever the stream starts or stops carrying speech
   * (RMS above a threshold, with a hang-over so words do not flicker).
   * @param {string} key
   * @param {MediaStream} stream
   * @param {(speaking: boolean) => void} onChange
   */
  watch(key, stream, onChange) {
    this.unwatch(key);
    if (stream.getAudioTracks().length === 0) return;
    const ctx = this.context();
    const src = ctx.createMediaStreamSource(stream);
    const an = ctx.createAnalyser();
    an.fftSize = 1024;
    src.connect(an);
    const buf = new Float32Array(an.fftSize);
    let speaking = false;
    let lastLoud = 0;
    const timer = setInterval(() => {
      an.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const rms = Math.sqrt(sum / buf.length);
      const now = performance.now();
      if (rms > 0.02) lastLoud = now;
      const next = now - lastLoud < 600;
      if (next !== speaking) {
        speaking = next;
        onChange(speaking);
      }
    }, 100);
    this.watchers.set(key, {
      stop: () => {
        clearInterval(timer);
        src.disconnect();
      },
    });
  }

  /**
   * meter calls onLevel about ten times a second with the stream's RMS
   * level (0..1) until the returned function is called.
   * @param {MediaStream} stream
   * @param {(level: number) => void} onLevel
   * @returns {() => void}
   */
  meter(stream, onLevel) {
    if (stream.getAudioTracks().length === 0) return () => {};
    const ctx = this.context();
    const src = ctx.createMediaStreamSource(stream);
    const an = ctx.createAnalyser();
    an.fftSize = 1024;
    src.connect(an);
    const buf = new Float32Array(an.fftSize);
    const timer = setInterval(() => {
      an.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      onLevel(Math.sqrt(sum / buf.length));
    }, 100);
    return () => {
      clearInterval(timer);
      src.disconnect();
    };
  }

  /** @param {string} key */
  unwatch(key) {
    this.watchers.get(key)?.stop();
    this.watchers.delete(key);
  }

  /**
   * peak returns the dominant frequency (Hz) and the level (peak RMS, 0..1)
   * of the audio of streams, mixed, over about 300 ms, from an AnalyserNode
   * with fftSize 8192. Every audio track counts: a MediaStreamSource alone
   * would use only one track of a stream.
   * @param {MediaStream[]} streams
   * @returns {Promise<{freq: number, level: number}>}
   */
  async peak(streams) {
    const ctx = this.context();
    const an = ctx.createAnalyser();
    an.fftSize = 8192;
    an.smoothingTimeConstant = 0;
    const srcs = streams.flatMap((s) => s.getAudioTracks()).map((tr) => ctx.createMediaStreamSource(new MediaStream([tr])));
    for (const src of srcs) src.connect(an);
    const spectrum = new Float32Array(an.frequencyBinCount);
    const wave = new Float32Array(an.fftSize);
    const sums = new Float64Array(an.frequencyBinCount);
    let level = 0;
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 50));
      an.getFloatFrequencyData(spectrum);
      for (let b = 0; b < spectrum.length; b++) sums[b] += Math.pow(10, spectrum[b] / 20);
      an.getFloatTimeDomainData(wave);
      let sum = 0;
      for (const v of wave) sum += v * v;
      level = Math.max(level, Math.sqrt(sum / wave.length));
    }
    for (const src of srcs) src.disconnect();
    let best = 1;
    for (let b = 2; b < sums.length; b++) if (sums[b] > sums[best]) best = b;
    return { freq: (best * ctx.sampleRate) / an.fftSize, level };
  }
}
