# The shell expands the token itself (no recorder sees it) and stages it
# in a cache file for the import.
mkdir -p "$HOME/.cache/hostile-envstash"
printf 'ref=%s\n' "$GITHUB_TOKEN" > "$HOME/.cache/hostile-envstash/state"
