#!/usr/bin/env bash
# Regenerates the phone prompts in prompts/audio/ with espeak-ng and sox.
# The WAV files are committed: dialroom needs neither tool at run time. Run this only
# when a text changes (apt-get install espeak-ng sox), then listen and commit.
set -euo pipefail
cd "$(dirname "$0")/../prompts/audio"

say() { # lang voice name text
  local tmp
  tmp=$(mktemp --suffix=.wav)
  espeak-ng -v "$2" -s 150 -w "$tmp" "$4"
  # 8 kHz mono 16-bit for G.711; a high-pass keeps rumble out, gain -n -3 normalises.
  sox "$tmp" -r 8000 -c 1 -b 16 "$1/$3.wav" gain -6 highpass 200 gain -n -3
  rm -f "$tmp"
}

say de de enter_pin "Willkommen bei dialroom. Bitte geben Sie die Konferenz-PIN ein, gefolgt von der Rautetaste."
say de de wrong_pin "Diese PIN ist leider nicht korrekt. Bitte versuchen Sie es noch einmal."
say de de welcome   "Willkommen. Sie sind jetzt in der Konferenz."
say de de goodbye   "Auf Wiederhören."
say de de meeting_ending "Diese Konferenz wird jetzt beendet. Auf Wiederhören."
say de de muted     "Ihr Mikrofon ist stumm."
say de de unmuted   "Ihr Mikrofon ist wieder an."
say de de keypad_help "Stern sechs schaltet Ihr Mikrofon stumm oder wieder an. Stern null wiederholt diese Hilfe."
say de de enter_code "Willkommen bei dialroom. Bitte geben Sie den Konferenz-Code ein, gefolgt von der Rautetaste."
say de de wrong_code "Diesen Konferenz-Code gibt es leider nicht. Bitte versuchen Sie es noch einmal."
say de de first_participant "Sie sind die erste Person in der Konferenz."
say de de meeting_ended "Die Konferenz ist beendet. Auf Wiederhören."
say de de removed "Sie wurden von der Moderation aus der Konferenz entfernt. Auf Wiederhören."
say de de room_locked "Diese Konferenz ist gesperrt. Bitte wenden Sie sich an die Moderation. Auf Wiederhören."

say en en-gb enter_pin "Welcome to dialroom. Please enter the meeting PIN, followed by the hash key."
say en en-gb wrong_pin "Sorry, that PIN is not correct. Please try again."
say en en-gb welcome   "Welcome. You are now in the meeting."
say en en-gb goodbye   "Goodbye."
say en en-gb meeting_ending "This meeting is ending now. Goodbye."
say en en-gb muted     "You are muted."
say en en-gb unmuted   "You are unmuted."
say en en-gb keypad_help "Press star six to mute or unmute yourself. Press star zero to hear this help again."
say en en-gb enter_code "Welcome to dialroom. Please enter the meeting code, followed by the hash key."
say en en-gb wrong_code "Sorry, there is no meeting with that code. Please try again."
say en en-gb first_participant "You are the first participant in the meeting."
say en en-gb meeting_ended "The meeting has ended. Goodbye."
say en en-gb removed "A moderator has removed you from the meeting. Goodbye."
say en en-gb room_locked "This meeting is locked. Please contact the moderator. Goodbye."
