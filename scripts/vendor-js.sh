#!/usr/bin/env bash
# Refresh web/static/vendor/: install the exact versions pinned in scripts/vendor-js/package.json
# from the npm registry into a temporary folder, copy their distributed bundles and licences,
# and bundle the modeler (bpmn-js + properties panel + Camunda 7 moddle) once with esbuild.
# The cockpit only ever serves these copies: nothing loads from a CDN, nothing builds at run time.
# Needs node and npm. Usage: scripts/vendor-js.sh   (then review and commit the diff)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=scripts/vendor-js
OUT=web/static/vendor
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cp "$SRC/package.json" "$SRC/modeler-entry.js" "$WORK/"
[ -f "$SRC/package-lock.json" ] && cp "$SRC/package-lock.json" "$WORK/"
(cd "$WORK" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
cp "$WORK/package-lock.json" "$SRC/package-lock.json"
NM="$WORK/node_modules"

rm -rf "$OUT"
mkdir -p "$OUT"/{bpmn-js,dmn-js,modeler,htmx,chart.js,swagger-ui,LICENSES}

cp "$NM/bpmn-js/dist/bpmn-navigated-viewer.production.min.js" "$OUT/bpmn-js/"
cp -r "$NM/bpmn-js/dist/assets" "$OUT/bpmn-js/"
cp "$NM/dmn-js/dist/dmn-viewer.production.min.js" "$OUT/dmn-js/"
cp -r "$NM/dmn-js/dist/assets" "$OUT/dmn-js/"
cp "$NM/htmx.org/dist/htmx.min.js" "$OUT/htmx/"
cp "$NM/chart.js/dist/chart.umd.min.js" "$OUT/chart.js/"
cp "$NM/swagger-ui-dist/swagger-ui-bundle.js" "$NM/swagger-ui-dist/swagger-ui.css" "$OUT/swagger-ui/"
cp "$NM/@bpmn-io/properties-panel/dist/assets/properties-panel.css" "$OUT/modeler/"

(cd "$WORK" && npx esbuild modeler-entry.js --bundle --minify --format=iife --target=es2020 \
  --legal-comments=eof --metafile=meta.json --log-level=warning \
  --outfile=out/mlc-modeler.min.js)
cp "$WORK/out/mlc-modeler.min.js" "$OUT/modeler/"

# Every package whose code or files are served, with its licence text and version.
node - "$WORK" "$OUT" <<'JS'
const fs = require('fs'), path = require('path');
const [work, out] = process.argv.slice(2);
const nm = path.join(work, 'node_modules');
const meta = JSON.parse(fs.readFileSync(path.join(work, 'meta.json')));
const names = new Set(['bpmn-js', 'dmn-js', 'htmx.org', 'chart.js', 'swagger-ui-dist',
                       '@bpmn-io/properties-panel']);
for (const input of Object.keys(meta.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/g);
  if (m) names.add(m[m.length - 1].replace('node_modules/', ''));
}
const versions = [];
for (const name of [...names].sort()) {
  const dir = path.join(nm, name);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json')));
  versions.push(`${name}@${pkg.version}  ${pkg.license || ''}`);
  const file = fs.readdirSync(dir).find(f => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  const target = path.join(out, 'LICENSES', name.replace('/', '__') + '.txt');
  if (file) fs.copyFileSync(path.join(dir, file), target);
  else if (pkg.license) fs.writeFileSync(target, `${name} ${pkg.version} ships no licence ` +
    `file; its package.json declares the licence: ${pkg.license}\n`);
  else { console.error(`${name}: no licence file and no licence field`); process.exit(1); }
}
fs.writeFileSync(path.join(out, 'VERSIONS.txt'), versions.join('\n') + '\n');
JS
echo "vendored into $OUT:"; du -sh "$OUT"
