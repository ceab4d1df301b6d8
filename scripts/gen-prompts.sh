#!/usr/bin/env bash
# Regenerates the phone prompts in prompts/audio/ with sox and a speech synthesiser:
# English with Festival's HTS voice cmu_us_slt_arctic_hts (statistical parametric
# speech, far more natural than formant synthesis), German with espeak-ng (Debian has
# no free German voice of that kind). The WAV files are committed: dialroom needs none
# of these tools at run time. Run this only when a text changes
# (apt-get install espeak-ng sox festival festvox-us-slt-hts), then listen and commit.
# Operators who want recorded voices use sip.prompts_dir (see README).
set -euo pipefail
cd "$(dirname "$0")/../prompts/audio"

say() { # lang voice name text
  local tmp
  tmp=$(mktemp --suffix=.wav)
  if [ "$2" = festival ]; then
    # "dial room" so the synthesiser does not guess at the made-up word.
    echo "${4//dialroom/dial room}" | text2wave -eval "(voice_cmu_us_slt_arctic_hts)" -o "$tmp"
  else
    espeak-ng -v "$2" -s 150 -w "$tmp" "$4"
  fi
  # 8 kHz mono 16-bit for G.711; a high-pass keeps rumble out. Every prompt is
  # brought to the same loudness (RMS -20 dBFS, limited so peaks do not clip), so
  # callers hear one steady level whichever prompt plays.
  local mid rms
  mid=$(mktemp --suffix=.wav)
  sox "$tmp" -r 8000 -c 1 -b 16 "$mid" gain -6 highpass 200 gain -n -3
  rms=$(sox "$mid" -n stat 2>&1 | awk '/RMS +amplitude/ {print $3}')
  sox "$mid" "$1/$3.wav" gain -l "$(awk -v r="$rms" 'BEGIN {printf "%.2f", 20*log(0.1/r)/log(10)}')"
  rm -f "$tmp" "$mid"
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

say en festival enter_pin "Welcome to dialroom. Please enter the meeting PIN, followed by the hash key."
say en festival wrong_pin "Sorry, that PIN is not correct. Please try again."
say en festival welcome   "Welcome. You are now in the meeting."
say en festival goodbye   "Goodbye."
say en festival meeting_ending "This meeting is ending now. Goodbye."
say en festival muted     "You are muted."
say en festival unmuted   "You are unmuted."
say en festival keypad_help "Press star six to mute or unmute yourself. Press star zero to hear this help again."
say en festival enter_code "Welcome to dialroom. Please enter the meeting code, followed by the hash key."
say en festival wrong_code "Sorry, there is no meeting with that code. Please try again."
say en festival first_participant "You are the first participant in the meeting."
say en festival meeting_ended "The meeting has ended. Goodbye."
say en festival removed "A moderator has removed you from the meeting. Goodbye."
say en festival room_locked "This meeting is locked. Please contact the moderator. Goodbye."
