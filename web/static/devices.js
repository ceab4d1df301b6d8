// @ts-check
// devices.js lets the user pick camera, microphone and speaker, shows a
// preview and a microphone level meter, and acquires the local stream.

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const sel = (/** @type {string} */ id) => /** @type {HTMLSelectElement} */ (document.getElementById(id));

/** Devices owns the #devices panel (selects #cam-select, #mic-select, #speaker-select and meter #level). */
export class Devices {
  /** @param {import('./audio.js').Audio} audio */
  constructor(audio) {
    this.audio = audio;
    /** @type {() => void} */
    this.stopMeter = () => {};
    /** @type {(stream: MediaStream|null) => void} called after the user picked another camera or microphone */
    this.onchange = () => {};
    const saved = (/** @type {string} */ k) => localStorage.getItem(`dialroom.${k}`) || '';
    this.wanted = { cam: saved('cam'), mic: saved('mic'), speaker: saved('speaker') };
    for (const [id, key] of [['cam-select', 'cam'], ['mic-select', 'mic']]) {
      sel(id).addEventListener('change', async () => {
        localStorage.setItem(`dialroom.${key}`, sel(id).value);
        this.wanted = { ...this.wanted, [key]: sel(id).value };
        this.onchange(await this.acquire());
      });
    }
    sel('speaker-select').addEventListener('change', () => {
      this.wanted.speaker = sel('speaker-select').value;
      localStorage.setItem('dialroom.speaker', this.wanted.speaker);
      for (const el of document.querySelectorAll('audio')) this.applySpeaker(/** @type {HTMLAudioElement} */ (el));
    });
    if (!('setSinkId' in HTMLMediaElement.prototype)) $('speaker-row').hidden = true;
  }

  /**
   * acquire gets camera and microphone (the chosen ones), falling back to
   * audio only, then to nothing. It returns the stream and a note key.
   * @returns {Promise<MediaStream|null>}
   */
  async acquire() {
    const pick = (/** @type {string} */ id) => (id ? { deviceId: { exact: id } } : true);
    // 720p feeds the three simulcast layers (180p, 360p, 720p) that the room sends.
    const hd = { width: { ideal: 1280 }, height: { ideal: 720 } };
    /** @type {MediaStreamConstraints[]} */
    const tries = [
      { audio: pick(this.wanted.mic), video: this.wanted.cam ? { deviceId: { exact: this.wanted.cam }, ...hd } : hd },
      { audio: true, video: true },
      { audio: true },
    ];
    /** @type {MediaStream|null} */
    let stream = null;
    for (const c of tries) {
      try {
        stream = await navigator.mediaDevices.getUserMedia(c);
        break;
      } catch {}
    }
    this.note = !stream ? 'noMedia' : stream.getVideoTracks().length === 0 ? 'noCamera' : '';
    await this.fill(stream);
    this.show(stream);
    return stream;
  }

  /**
   * fill lists the devices (labels are known once permission is granted).
   * @param {MediaStream|null} stream the stream in use, to select its devices
   */
  async fill(stream) {
    let list = /** @type {MediaDeviceInfo[]} */ ([]);
    try {
      list = await navigator.mediaDevices.enumerateDevices();
    } catch {}
    const using = (/** @type {string} */ kind) =>
      stream?.getTracks().find((tr) => tr.kind === kind)?.getSettings().deviceId || '';
    /** @type {[string, MediaDeviceKind, string][]} */
    const rows = [
      ['cam-select', 'videoinput', using('video')],
      ['mic-select', 'audioinput', using('audio')],
      ['speaker-select', 'audiooutput', this.wanted.speaker],
    ];
    for (const [id, kind, current] of rows) {
      const devices = list.filter((d) => d.kind === kind);
      sel(id).replaceChildren(
        ...devices.map((d, i) => {
          const o = document.createElement('option');
          o.value = d.deviceId;
          o.textContent = d.label || `${kind} ${i + 1}`;
          o.selected = d.deviceId === current;
          return o;
        }),
      );
      sel(id).disabled = devices.length === 0;
    }
  }

  /**
   * show puts stream into the preview and the level meter.
   * @param {MediaStream|null} stream
   */
  show(stream) {
    const preview = /** @type {HTMLVideoElement} */ ($('preview'));
    const video = !!stream && stream.getVideoTracks().length > 0;
    preview.srcObject = video ? stream : null;
    preview.hidden = !video;
    this.stopMeter();
    const meter = /** @type {HTMLMeterElement} */ ($('level'));
    meter.value = 0;
    this.stopMeter = stream ? this.audio.meter(stream, (l) => (meter.value = Math.min(1, l * 4))) : () => {};
  }

  /** @param {HTMLAudioElement} el */
  applySpeaker(el) {
    const id = this.wanted.speaker;
    const any = /** @type {any} */ (el);
    if (id && typeof any.setSinkId === 'function') any.setSinkId(id).catch(() => {});
  }
}
