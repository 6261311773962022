// The bundle of the query workbench (run by build.sh after `npm ci`). Output: the directory given as
// argument, else ../static/workbench. Reproducible: the same inputs give the same bytes.
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] || join(here, "..", "static", "workbench");
const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");

function files(folder) {
  return readdirSync(folder)
    .sort()
    .flatMap((name) => {
      const path = join(folder, name);
      return statSync(path).isDirectory() ? files(path) : [path];
    });
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const built = await esbuild.build({
  entryPoints: [
    { in: join(here, "src", "main.js"), out: "workbench" },
    { in: join(here, "src", "workbench.css"), out: "workbench" },
  ],
  bundle: true,
  splitting: true,
  format: "esm",
  target: ["es2020"],
  minify: true,
  legalComments: "none", // the licences are in LICENSES
  chunkNames: "chunks/[name]-[hash]",
  outdir: out,
  metafile: true,
  logLevel: "warning",
});

// Every package of the lock file that is not a build tool, with its licence text.
const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));
const bundled = new Set(
  Object.keys(built.metafile.inputs)
    .map((input) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input.split(sep).join("/")))
    .filter(Boolean)
    .map((m) => m[1]),
);
const sections = [];
for (const [path, info] of Object.entries(lock.packages).sort()) {
  if (!path || info.dev) continue;
  const name = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
  const folder = join(here, path);
  const licence = readdirSync(folder).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  if (!licence) throw new Error(`${name} has no licence file`);
  const state = bundled.has(name) ? "in the bundle" : "a dependency, not in the bundle";
  sections.push(
    `${"=".repeat(78)}\n${name} ${info.version} (${info.license}; ${state})\n${"-".repeat(78)}\n` +
      readFileSync(join(folder, licence), "utf8").trim() +
      "\n",
  );
}
writeFileSync(
  join(out, "LICENSES"),
  "Third-party software in this folder, built by server/web/build.sh from server/web/package-lock.json.\n\n" +
    sections.join("\n"),
);

const inputs = {};
for (const path of [
  join(here, "package.json"),
  join(here, "package-lock.json"),
  join(here, "build.sh"),
  join(here, "build.mjs"),
  ...files(join(here, "src")),
]) {
  inputs[relative(here, path).split(sep).join("/")] = sha256(path);
}
const outputs = {};
for (const path of files(out)) outputs[relative(out, path).split(sep).join("/")] = sha256(path);
writeFileSync(
  join(out, "BUILD.json"),
  JSON.stringify({ esbuild: esbuild.version, inputs, outputs }, null, 1) + "\n",
);
console.log(`wrote ${Object.keys(outputs).length + 1} files to ${relative(process.cwd(), out) || "."}`);
