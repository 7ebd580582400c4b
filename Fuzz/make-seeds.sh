#!/usr/bin/env bash
# Writes the committed seed corpus of each fuzzer into Fuzz/Corpus/<fuzzer>/ from real Handover output:
# small bundles in every archive format, their JSON, CSV and XML files, dataset maps, age files (Handover's and
# the C2SP test kit's), minisign keys and signatures. Run from the repository: bash Fuzz/make-seeds.sh BINARY
set -euo pipefail
handover=${1:?usage: make-seeds.sh HANDOVER_BINARY}
corpus=Fuzz/Corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$corpus"
mkdir -p "$corpus"/{fuzz-bundle,fuzz-json,fuzz-csv,fuzz-xml,fuzz-map,fuzz-age,fuzz-minisign}

"$handover" demo --out "$work/demo" --quiet >/dev/null
db="$work/demo/demo.sqlite"; map="$work/demo/demo-map.yaml"
for format in zip tgz txz tzst; do
    "$handover" export --db "$db" --map "$map" --subject id=7 --formats json,csv,xml --archive "$format" \
        --request-id "req-seed-$format" --out "$work/out" --quiet >/dev/null
done
cp "$work"/out/handover-req-seed-*.* "$corpus/fuzz-bundle/"
mkdir -p "$work/unpacked" && (cd "$work/unpacked" && unzip -q "$work/out/handover-req-seed-zip.zip")
for file in "$work"/unpacked/*/data/sales/{users,contacts,comments}.json; do cp "$file" "$corpus/fuzz-json/"; done
for file in "$work"/unpacked/*/data/sales/{users,contacts,comments}.csv; do cp "$file" "$corpus/fuzz-csv/"; done
for file in "$work"/unpacked/*/data/sales/{users,contacts,comments}.xml; do cp "$file" "$corpus/fuzz-xml/"; done
cp "$work"/unpacked/*/manifest.json "$work"/unpacked/*/datapackage.json "$corpus/fuzz-json/"
printf '[{"id":1,"name":"Ann","stage":"won","code":"AB-123","score":2.5,"note":null,"vip":true,"born":"2024-02-29","seen":"2024-01-01T00:00:00Z","photo":"AAEC"}]' \
    > "$corpus/fuzz-json/contact.json"
printf 'id,name,stage,code,score,note,vip,born,seen,photo\r\n1,Ann,won,AB-123,2.5,,true,2024-02-29,2024-01-01T00:00:00Z,AAEC\r\n2,"Zo\xc3\xab ""Z""",,,,"a\r\nb",false,,,""\r\n' \
    > "$corpus/fuzz-csv/contact.csv"
cp "$map" "$corpus/fuzz-map/demo-map.yaml"
printf 'handover-map: 1\nexporter:\n  id: t\n  version: "1.0"\ntenant:\n  table: notes\n  key: id\ntables:\n  notes:\n    tenant: id\n    columns:\n      id: integer\n      text: {type: string, max-length: 20, pattern: "[a-z]+"}\n      kind: {type: string, enum: ["=a", "b"]}\n' \
    > "$corpus/fuzz-map/small.yaml"

# age: the test kit's files (after their header) and Handover's own, to the fuzzer's identity and passphrase.
for name in x25519 scrypt armor stream_last_chunk_full stream_two_chunks; do
    source="../shared/testsuites/age-testkit/testdata/$name"
    [ -f "$source" ] && python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(d[d.index(b"\n\n")+2:])' "$source" "$corpus/fuzz-age/$name"
done
printf 'AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0\n' > "$work/id.txt"
recipient=$("$handover" keys age-recipient "$work/id.txt")
"$handover" export --db "$db" --map "$map" --subject id=7 --formats json --recipient "$recipient" \
    --request-id req-seed-age --out "$work/age" --quiet >/dev/null
cp "$work/age/handover-req-seed-age.zip.age" "$corpus/fuzz-age/bundle.zip.age"
printf '# created: 2026-11-30\nAGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0\n%s\n' "$recipient" \
    > "$corpus/fuzz-age/keys.txt"

# minisign: a key pair, a signature of each kind, an unencrypted secret key.
"$handover" keys generate --out "$work/keys" --quiet
cp "$work/keys/minisign.pub" "$corpus/fuzz-minisign/key.pub"
cp "$work/keys/minisign.key" "$corpus/fuzz-minisign/key.key"
echo content > "$work/content"
minisign -Sm "$work/content" -s "$work/keys/minisign.key" -x "$corpus/fuzz-minisign/prehashed.minisig" -t "trusted" >/dev/null
minisign -Slm "$work/content" -s "$work/keys/minisign.key" -x "$corpus/fuzz-minisign/legacy.minisig" >/dev/null
echo "seeds: $(find "$corpus" -type f | wc -l) files, $(du -sk "$corpus" | cut -f1) KiB"
