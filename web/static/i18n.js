// @ts-check
// i18n.js holds the UI strings in German and English.

const strings = {
  en: {
    yourName: 'Your name',
    join: 'Join',
    joining: 'Joining…',
    mic: 'Microphone on/off',
    cam: 'Camera on/off',
    leave: 'Leave',
    you: 'You',
    noCamera: 'No camera found: joining with audio only.',
    noMedia: 'No camera or microphone: you can listen and watch.',
    left: 'You left the meeting.',
    disconnected: 'Connection lost.',
    unknownCaller: 'Unknown caller',
    room_not_found: 'This room does not exist.',
    invalid_name: 'Please enter a name (up to 64 characters).',
    error: 'Something went wrong.',
  },
  de: {
    yourName: 'Dein Name',
    join: 'Beitreten',
    joining: 'Beitreten …',
    mic: 'Mikrofon an/aus',
    cam: 'Kamera an/aus',
    leave: 'Verlassen',
    you: 'Du',
    noCamera: 'Keine Kamera gefunden: Teilnahme nur mit Audio.',
    noMedia: 'Weder Kamera noch Mikrofon: Du kannst zuhören und zusehen.',
    left: 'Du hast das Meeting verlassen.',
    disconnected: 'Verbindung verloren.',
    unknownCaller: 'Unbekannter Anrufer',
    room_not_found: 'Diesen Raum gibt es nicht.',
    invalid_name: 'Bitte gib einen Namen ein (bis zu 64 Zeichen).',
    error: 'Etwas ist schiefgegangen.',
  },
};

/** @typedef {keyof typeof strings.en} Key */

/**
 * lang picks German or English from the browser's language.
 * @param {string} language navigator.language
 * @returns {'de'|'en'}
 */
export function lang(language) {
  return language.toLowerCase().startsWith('de') ? 'de' : 'en';
}

/**
 * t returns the UI string for key in the browser's language.
 * @param {string} key
 * @returns {string}
 */
export function t(key) {
  const table = /** @type {Record<string, string>} */ (strings[lang(navigator.language || 'en')]);
  return table[key] ?? strings.en[/** @type {Key} */ (key)] ?? key;
}
