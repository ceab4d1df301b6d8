// @ts-check
// protocol.js speaks dialroom's signalling (docs/protocol.md) over a
// WebSocket and drives one RTCPeerConnection. It touches no DOM.

/**
 * @typedef {{id: string, name: string, kind: 'web'|'phone', speaking: boolean, muted?: boolean, muteLocked?: boolean, role?: string, hand?: boolean, sharing?: boolean, number?: string}} Participant
 * @typedef {{slug: string, name: string}} RoomInfo
 * @typedef {{seq: number, from: string, fromName: string, to?: string, text: string, time: number}} ChatMessage
 * @typedef {{id: string, layer: string, width: number, height: number}} LayerInfo
 * @typedef {{id: string, w: number, h: number}} TileView
 */

/** Simulcast layers of the camera, smallest first: RID, downscale, bitrate cap (bit/s). */
const LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

/**
 * SLOT_STREAM is the stream ID of the server's audio slots: a fixed number of
 * audio tracks that carry whoever the server finds audible (the loudest few),
 * not one participant each. They are played, never shown as tiles.
 */
export const SLOT_STREAM = 'audio-slots';

/** Session is one browser's membership in one room. */
export class Session {
  /**
   * @param {string} url WebSocket URL of /ws
   * @param {MediaStream|null} local the tracks to publish (may be null)
   */
  constructor(url, local) {
    /** @type {(id: string, room: RoomInfo) => void} */
    this.onjoined = () => {};
    /** @type {(participants: Participant[]) => void} */
    this.onroster = () => {};
    /** @type {(id: string, speaking: boolean) => void} */
    this.onspeaking = () => {};
    /** @type {(participantId: string, stream: MediaStream) => void} */
    this.onstream = () => {};
    /** @type {(slot: string, stream: MediaStream) => void} an audio slot's track arrived (see SLOT_STREAM) */
    this.onslot = () => {};
    /** @type {(code: string, message: string) => void} */
    this.onerror = () => {};
    /** @type {() => void} */
    this.onclose = () => {};
    /** @type {(m: ChatMessage) => void} */
    this.onchat = () => {};
    /** @type {(action: string, by: string) => void} what a moderator did to us */
    this.oncontrol = () => {};
    /** @type {(id: string) => void} the room's dominant speaker changed ('' = nobody) */
    this.onspeaker = () => {};
    /** @type {(layers: Map<string, LayerInfo>) => void} which video layers we receive */
    this.onlayers = () => {};

    /** @type {Map<string, LayerInfo>} the layer we receive of each participant's video */
    this.layers = new Map();
    /** @type {string[]|null} the camera layers someone receives (null: all until told) */
    this.wanted = null;
    this.sharing = false;
    /** @type {RTCRtpTransceiver|null} the transceiver our camera (or screen) goes out on */
    this.videoTx = null;
    this.lastView = '';
    /** @type {Promise<void>} serialises applyLayers */
    this.layersChain = Promise.resolve();
    /** the room's dominant speaker, from the server ('' = nobody yet) */
    this.speaker = '';

    /** @type {string} 'moderator' or 'participant' */
    this.role = 'participant';
    this.locked = false;
    /** @type {ChatMessage[]} recent room chat received with joined */
    this.history = [];
    /** @type {string} set when the server ended our membership (removed, ended, room_locked) */
    this.ended = '';

    /** @type {string} */
    this.id = '';
    /** @type {Map<string, Participant>} */
    this.participants = new Map();
    /** @type {Map<string, MediaStream>} remote streams by participant ID */
    this.streams = new Map();
    /** @type {Map<string, MediaStream>} audio slots by track ID, one track each */
    this.slots = new Map();
    this.rev = -1;
    /** @type {Promise<void>} serialises offer handling */
    this.chain = Promise.resolve();
    this.url = url;

    this.pc = new RTCPeerConnection({ iceServers: [] });
    /** @type {MediaStream|null} sent on the server's first recvonly audio and video sections */
    this.local = local;
    this.pc.ontrack = (e) => {
      const stream = e.streams[0];
      if (!stream) return;
      if (stream.id === SLOT_STREAM) {
        // Audio of whoever the server put in this slot: not a participant.
        const slot = new MediaStream([e.track]);
        this.slots.set(e.track.id, slot);
        this.onslot(e.track.id, slot);
        return;
      }
      this.streams.set(stream.id, stream);
      this.onstream(stream.id, stream);
    };
    this.pc.onicecandidate = (e) => {
      if (e.candidate) this.send({ type: 'candidate', candidate: e.candidate.toJSON() });
    };
    /** @type {number} asks for an ICE restart every 2 s while the connection is lost */
    this.iceTimer = 0;
    this.pc.oniceconnectionstatechange = () => {
      const lost = this.pc.iceConnectionState === 'disconnected' || this.pc.iceConnectionState === 'failed';
      if (lost && !this.iceTimer) {
        this.iceTimer = window.setInterval(() => this.send({ type: 'restart_ice' }), 2000);
      } else if (!lost && this.iceTimer) {
        window.clearInterval(this.iceTimer);
        this.iceTimer = 0;
      }
    };
    /** @type {WebSocket|null} */
    this.ws = null;
  }

  /**
   * join opens the WebSocket and asks to join room under name.
   * @param {string} room room slug
   * @param {string} name display name
   * @param {string} [mod] moderator token from the ?mod= link
   * @returns {Promise<void>} resolves once the socket is open
   */
  join(room, name, mod) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.onopen = () => {
        this.send(mod ? { type: 'join', room, name, mod } : { type: 'join', room, name });
        resolve();
      };
      ws.onerror = () => reject(new Error('websocket error'));
      ws.onclose = () => this.onclose();
      ws.onmessage = (e) => this.receive(String(e.data));
    });
  }

  /** @param {object} msg */
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** @param {boolean} muted */
  setMuted(muted) {
    this.send({ type: 'mute', muted });
  }

  /**
   * chat sends text to the room, or privately to participant to.
   * @param {string} text
   * @param {string} [to]
   */
  chat(text, to) {
    this.send(to ? { type: 'chat', to, text } : { type: 'chat', text });
  }

  /** @param {boolean} on whether the video track now carries the screen */
  setSharing(on) {
    this.sharing = on;
    this.applyLayers();
    this.send({ type: 'share', on });
  }

  /**
   * setView tells the server which participants' video is on screen and how
   * large (device pixels); it sends nothing for the others.
   * @param {TileView[]} tiles
   */
  setView(tiles) {
    const msg = JSON.stringify({ type: 'view', tiles });
    if (msg === this.lastView) return;
    this.lastView = msg;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(msg);
  }

  /**
   * publishLocal sends our tracks on the server's recvonly sections: the
   * first audio and the first video one. The server asks for simulcast on
   * the video section, so the camera goes out in the layers of LAYERS.
   * @param {string} sdp the server's offer
   */
  async publishLocal(sdp) {
    if (!this.local) return;
    const mids = { audio: '', video: '' };
    for (const section of sdp.split(/\r?\nm=/).slice(1)) {
      const kind = section.startsWith('audio') ? 'audio' : section.startsWith('video') ? 'video' : '';
      const mid = /\na=mid:(\S+)/.exec(section)?.[1] || '';
      if (kind && !mids[kind] && /\na=recvonly/.test(section)) mids[kind] = mid;
    }
    for (const tx of this.pc.getTransceivers()) {
      const kind = tx.mid === mids.audio ? 'audio' : tx.mid === mids.video ? 'video' : '';
      if (!kind || tx.sender.track || tx.direction === 'sendonly') continue;
      const track = kind === 'audio' ? this.local.getAudioTracks()[0] : this.local.getVideoTracks()[0];
      if (!track) continue;
      tx.direction = 'sendonly';
      await tx.sender.replaceTrack(track);
      tx.sender.setStreams(this.local);
      if (kind === 'video') {
        this.videoTx = tx;
        await this.applyLayers();
      }
    }
  }

  /**
   * applyLayers caps each camera layer and pauses those nobody receives
   * (only f while sharing the screen). Calls run one after another, each
   * with the latest state: Chrome refuses a setParameters while another is
   * pending.
   * @returns {Promise<void>}
   */
  applyLayers() {
    this.layersChain = this.layersChain.then(() => this.setLayers());
    return this.layersChain;
  }

  async setLayers() {
    const sender = this.videoTx?.sender;
    if (!sender) return;
    const params = sender.getParameters();
    if (!params.encodings || params.encodings.length !== LAYERS.length) return;
    params.encodings.forEach((e, i) => {
      const l = LAYERS[i];
      e.scaleResolutionDownBy = l.scaleResolutionDownBy;
      e.maxBitrate = this.sharing && l.rid === 'f' ? 2_500_000 : l.maxBitrate;
      e.active = (!this.wanted || this.wanted.includes(e.rid || l.rid)) && (!this.sharing || l.rid === 'f');
    });
    await sender.setParameters(params).catch(() => {});
  }

  /** @param {boolean} raised */
  setHand(raised) {
    this.send({ type: 'hand', raised });
  }

  /**
   * moderate asks for a moderator action (see docs/protocol.md).
   * @param {string} action mute, mute_all, mute_lock, mute_unlock, rename, remove, make_moderator, lower_hand, lock, unlock, end
   * @param {string} [target] participant ID
   * @param {string} [name] new name for rename
   */
  moderate(action, target, name) {
    this.send({ type: 'moderate', action, target, name });
  }

  /** leave tells the server and closes everything. */
  leave() {
    window.clearInterval(this.iceTimer);
    this.send({ type: 'leave' });
    if (this.ws) this.ws.close();
    this.pc.close();
  }

  /** @param {string} data */
  receive(data) {
    /** @type {any} */
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    switch (msg.type) {
      case 'offer':
        this.chain = this.chain.then(() => this.answer(msg.sdp, msg.iceServers)).catch((err) => this.onerror('negotiation', String(err)));
        break;
      case 'joined':
        this.id = msg.id;
        this.role = msg.role || 'participant';
        this.history = msg.history || [];
        this.onjoined(msg.id, msg.room);
        this.roster(msg.rev, msg.participants, !!msg.locked);
        break;
      case 'roster':
        this.roster(msg.rev, msg.participants, !!msg.locked);
        break;
      case 'chat':
        this.onchat(msg);
        break;
      case 'control':
        if (msg.action !== 'mute') this.ended = msg.action;
        this.oncontrol(msg.action, msg.by || '');
        break;
      case 'speaker':
        this.speaker = msg.id || '';
        this.onspeaker(this.speaker);
        break;
      case 'layers':
        this.layers = new Map((msg.tracks || []).map((/** @type {LayerInfo} */ l) => [l.id, l]));
        this.onlayers(this.layers);
        break;
      case 'publish':
        this.wanted = msg.layers || [];
        this.applyLayers();
        break;
      case 'speaking': {
        const p = this.participants.get(msg.id);
        if (p) p.speaking = !!msg.speaking;
        this.onspeaking(msg.id, !!msg.speaking);
        break;
      }
      case 'error':
        if (msg.code === 'room_locked') this.ended = msg.code;
        this.onerror(msg.code, msg.message);
        break;
    }
  }

  /**
   * @param {string} sdp the server's offer
   * @param {RTCIceServer[]} [iceServers] TURN servers with fresh credentials, used from this answer on
   */
  async answer(sdp, iceServers) {
    if (iceServers) this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    await this.publishLocal(sdp);
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    this.send({ type: 'answer', sdp: this.pc.localDescription?.sdp ?? answer.sdp });
  }

  /**
   * @param {number} rev
   * @param {Participant[]} list
   * @param {boolean} locked
   */
  roster(rev, list, locked) {
    if (rev < this.rev) return; // an older roster that arrived late
    this.rev = rev;
    this.locked = locked;
    const me = (list || []).find((p) => p.id === this.id);
    if (me && me.role) this.role = me.role;
    this.participants = new Map((list || []).map((p) => [p.id, p]));
    for (const id of this.streams.keys()) {
      if (!this.participants.has(id)) this.streams.delete(id);
    }
    this.onroster([...this.participants.values()]);
  }
}
