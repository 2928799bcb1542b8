"""Golden archives decode forever (issue 21).

tests/golden/ holds small archives of every level, every retired level, a
custom preset (deflated and as plain JSON), a neural school, several blocks,
two concatenated streams and the edge cases, each listed in MANIFEST.json
with the SHA-256 and length of its original.  They are never edited: a
change of format or of a level adds new ones (tools/make_golden.py).

One fresh Python process, which has never encoded anything, decodes them
all and prints the SHA-256 of each output, so start-up (and a compile of
each level's loop, on a cold Numba cache) is paid once.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shoal import school
from shoal.fish.neural import weights
from shoal.school import neural

GOLDEN = Path(__file__).resolve().parent / "golden"
MANIFEST = json.loads((GOLDEN / "MANIFEST.json").read_text())
ARCHIVES = MANIFEST["archives"]
RETIRED = Path(school.__file__).resolve().parent / "presets" / "retired"

# A cold Numba cache compiles every level's own loop in the child (30-120 s
# a level on a busy 2-core machine); a warm one decodes everything in seconds.
DECODE_TIMEOUT_S = 3600

_CHILD = r"""
import hashlib, json, sys, time
from pathlib import Path
import shoal
folder = Path(sys.argv[1])
for job in sys.argv[2:]:
    name, threads = job.rsplit(":", 1)
    start = time.perf_counter()
    try:
        data = shoal.decompress((folder / name).read_bytes(), threads=int(threads))
        result = {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data)}
    except Exception as error:
        result = {"error": f"{type(error).__name__}: {error}"}
    result.update(file=name, threads=int(threads), seconds=round(time.perf_counter() - start, 3))
    print(json.dumps(result), flush=True)
"""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_golden_archives_are_the_committed_bytes():
    """Nobody edits, removes or adds a golden archive behind the manifest's back."""
    listed = [entry["file"] for entry in ARCHIVES]
    assert len(listed) == len(set(listed)), "an archive is listed twice in MANIFEST.json"
    on_disk = sorted(p.name for p in GOLDEN.glob("*.shoal"))
    assert sorted(listed) == on_disk, ("tests/golden/*.shoal and MANIFEST.json differ: golden archives are never "
                                       "removed, and tools/make_golden.py adds new ones with their entries")
    changed = [e["file"] for e in ARCHIVES
               if _sha256(GOLDEN / e["file"]) != e["archive_sha256"]
               or (GOLDEN / e["file"]).stat().st_size != e["archive_length"]]
    assert not changed, f"golden archives never change, but these did: {changed}"


@pytest.fixture(scope="module")
def decoded():
    """{(file, threads): result} from one fresh process that decodes every archive."""
    jobs = [f"{e['file']}:{t}" for e in ARCHIVES for t in e["decode_threads"]]
    env = {k: v for k, v in os.environ.items() if k != "SHOAL_FISH_PATH"}   # the shipped fish, found alone
    env["SHOAL_SCHOOL_PATH"] = str(GOLDEN / "schools")                      # the school files archives name
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(GOLDEN), *jobs], capture_output=True, text=True,
                          timeout=DECODE_TIMEOUT_S, env=env)
    assert proc.returncode == 0, f"the fresh decoder failed (exit status {proc.returncode}):\n{proc.stderr[-4000:]}"
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    return {(r["file"], r["threads"]): r for r in results}


def test_golden_archives_decode_in_a_fresh_process(decoded):
    failures = []
    for entry in ARCHIVES:
        for threads in entry["decode_threads"]:
            result = decoded.get((entry["file"], threads))
            if result is None:
                failures.append(f"{entry['file']} (threads={threads}): no result from the fresh decoder")
            elif "error" in result:
                failures.append(f"{entry['file']} (threads={threads}): {result['error']}")
            elif (result["sha256"], result["length"]) != (entry["original_sha256"], entry["original_length"]):
                failures.append(f"{entry['file']} (threads={threads}): decoded {result['length']} bytes, "
                                f"SHA-256 {result['sha256']}, not the original's {entry['original_length']} "
                                f"bytes, {entry['original_sha256']}")
    assert not failures, ("an archive must decode forever; these golden archives no longer decode to their "
                          "originals:\n  " + "\n  ".join(failures))


def test_golden_inputs_match_the_manifest():
    """The inputs later archives are made from are the ones the manifest records."""
    for name, recorded in MANIFEST["inputs"].items():
        content = (GOLDEN / "inputs" / name).read_bytes()
        assert (hashlib.sha256(content).hexdigest(), len(content)) == (recorded["sha256"], recorded["length"]), name


# ---- identities ------------------------------------------------------------------

LEVEL_DIGESTS = {
    1: "c2baf83e26e46afb18a2dfeca2a207fd",
    2: "dabb356e649be36e017e9b7db8e6c072",
    3: "70a98d1d88b84c429d9a2edc81d17a60",
    4: "8ac57b4524c910b0ea692bca00f6e17d",
    5: "ba78e442574ad81ef7721c546a525503",
    6: "35e6412722017b6879a83edb416e1c6b",
    7: "d9419c7016aabe9f7b4a318b5990a727",
    8: "1a4d71f63a737f3dba26e7c5b15fa2e4",
    9: "e6ce64f54a4c9e1e87c707d19b6b1e59",
}
RETIRED_DIGESTS = {
    "level2-1": "0bf34dd1e4176d76dd55c64fec475334",
    "level3-1": "8413eada91b891b4f84aa4aaa1566473",
    "level4-1": "935ca8265af432c994082e60cebce229",
    "level5-1": "41d8a59557d348a66b62186d2f852983",
    "level5-2": "ac1a9678b7856af0a19afed8693c2e13",
    "level5-3": "2bd37a60bc11450d6a7330ae43081266",
    "level6-1": "d9419c7016aabe9f7b4a318b5990a727",
    "level6-2": "0ead2d3ba25093d6ced8df3545bcac62",
    "level6-3": "a9a9608a657d32bf036fd20439305e24",
    "level6-4": "9d56343781c3be586bdd6fe33b18f3c0",
    "level6-5": "8b43c6cf26703205097a0e4ca28ec404",
    "level6-6": "145a7d79d33fbb08777e03324f8093b7",
    "level1-1": "9ff4b94c156843d889f50a548daa2422",
    "level2-2": "0e82e420c408ef7b7ff6f0bb7c215209",
    "level3-2": "e28ec1c021f219b0c8e7257e27505ef1",
    "level4-2": "9b9b0825bdeb9538e3c40096f04a75d9",
    "level5-4": "d91bbb948e69b5c1b93fa0fd1c4f7d5d",
    "level7-1": "63ac724168ea7b448758a4b136c9b4c3",
    "level8-1": "2179fdf13722451501cc68406c221db0",
    "level9-1": "c97a981f83bc3253ca08d5fc6bf76c81",
    "level9-2": "76eb7bbec39c1f6d8fb2f2fb516542a2",
    "level9-3": "b90c37c9f8a186620868c77475030a76",
    "level9-4": "111819ca6f7be89b16f81064c368b64f",
    "level8-2": "b3c37d56203740ddfb094be648d95c0d",
    "level6-7": "731d47b2c94129c32b8c165975ef2799",
    "level8-3": "07d2d7d41c55b8e6c2841bc32372bba6",
    "level9-5": "a84c8a42bc520a4f13b943e95a6e3d0a",
    "level8-4": "65d2a6770ee5eff4c97c8ce17535f17e",
}
# --neural's levels (school.levels.neural_level) when they got their one-byte ids, with the first
# shipped fish (text-2x128), with english-2x192 and with english-2x192-24k
NEURAL_LEVEL_DIGESTS = {1: "96efb96597cfa7784cfb3df859bb40fc", 2: "ac93c62b6096afda636728af4b046724",
                        3: "5ef526ca4870d80345b303da5e4f4255", 4: "322427b788d4b69d968badb6cbd1ccf4",
                        5: "9d3e5b2fcdef502e328080b3f052bb2f", 6: "7b2039f6de67f03e05ed35ab231f655d",
                        7: "581170dcac3bdc00800fb640e7e194e0", 8: "ab888c10b3c0cbfb8d2666cb433baab3",
                        9: "08865bf465c288ad7698452ce7b8f4e7"}
NEURAL_LEVEL_DIGESTS_ENGLISH = {1: "e66468ba94b50595d7ce07eae547517d", 2: "71ce09c42bc071d8332263364f951375",
                                3: "ddbbf8b2447885643c79aa7024f0da12", 4: "8a0e8a75e86ce77178b488f8a88c334b",
                                5: "1bedd61fc887d8ed36a8506338428bb2", 6: "b3eebe5e0a9b87ade0985c94042386c3",
                                7: "f84c10e90505feef7b34b032fb1a9f2a", 8: "2c915d3a122e5eaa616dafcb5f11bdff",
                                9: "e3b4c628517ea67828dd9c2fe95841b1"}
NEURAL_LEVEL_DIGESTS_ENGLISH_24K = {1: "5b3629da7304de33738456cd52e9af97", 2: "b9bacb24c04c87a6b965bfe133d3c39e",
                                    3: "f13bd9f2ebb107086a305a2ac3c20400", 4: "8a498019578221da93afeb63d0490425",
                                    5: "c9a1f914c18766fa265ee67e38f5d612", 6: "6d4ae04ae13c8131698edcbd4dfd615c",
                                    7: "19f0e1117167f3d882ad6206034380c0", 8: "fedf5f8e88653f4f71431c2d1bdb11d2",
                                    9: "00080bd2c107113eba96a0a2e2386945"}
# the same with the school's tables held to fit 21 (`tables: 21`, levels.NEURAL_TABLES; 2026-12-06)
NEURAL_LEVEL_DIGESTS_TABLES_21 = {1: "e783146dc888766593e89773fde0561c", 2: "8e4b3cb532c612c3ccd14f37bb5f40ce",
                                  3: "21f26518b0b4cc51aad9a8f46a8addc2", 4: "39332a7d0f8c976535339bd0a1d6cb46",
                                  5: "af798671577857a15fc53af1d7601027", 6: "ef91b790f95052ec4168073ba5ac08c0",
                                  7: "23739181edb3247e29ca3a4b84dce656", 8: "c8bd92e5d97a759ec078b1cc8219c43b",
                                  9: "5dc786896fb1c702e86d72ac8b795347"}
# BLAKE2b-128 of each shipped neural fish's weights file (archives name them so)
SHIPPED_FISH_DIGESTS = {"text-2x128.safetensors": "022c8038b19878d5148f4f846f6e055c",
                        "english-2x192.safetensors": "454203a7d0a7fa7cd7ff388b49d82a3c",
                        "english-2x192-24k.safetensors": "5f1a770e907a8fa39bbe3c685ed8142e"}
# SHA-256 of the preset dictionary, part of the format (docs/format.md)
PRESET_DICTIONARY_SHA256 = "8cbe815ead7df4917f765e072dc8a49f3d1d24e2cc754a08d075ab01c489b551"

_NEVER_REDEFINED = ("levels are never redefined in place: retire the old one (copy its YAML to "
                    "shoal/school/presets/retired/level<N>-<k>.yaml, see docs/format.md on retired levels), "
                    "then pin the new digest here and add its golden archives with tools/make_golden.py")


def test_every_builtin_preset_keeps_its_identity():
    changed = {n: school.level(n).digest.hex() for n in range(1, 10)
               if school.level(n).digest.hex() != LEVEL_DIGESTS[n]}
    assert not changed, f"the digest of level(s) {sorted(changed)} changed ({changed}): {_NEVER_REDEFINED}"

    present = {p.stem: p for p in RETIRED.glob("level*-*.yaml")}
    missing = sorted(set(RETIRED_DIGESTS) - set(present))
    assert not missing, f"retired level(s) {missing} were removed: archives made with them would no longer decode"
    unpinned = sorted(set(present) - set(RETIRED_DIGESTS))
    assert not unpinned, f"retired level(s) {unpinned} are new: pin their digests in RETIRED_DIGESTS"
    for stem, digest in RETIRED_DIGESTS.items():
        n = int(stem[len("level"):].split("-")[0])
        found = school.retired_level(n, bytes.fromhex(digest))
        assert found is not None, (f"retired {stem} no longer has digest {digest}: a retired level never changes, "
                                   "or archives made with it no longer decode")

    for name, pinned_fish in SHIPPED_FISH_DIGESTS.items():
        fish = weights.digest((neural.SHIPPED / name).read_bytes()).hex()
        assert fish == pinned_fish, (f"the shipped neural fish {name} changed (digest {fish}): archives name its "
                                     "weights by digest, so the old file must keep shipping beside any new one")
    assert neural.DEFAULT_FISH.name in SHIPPED_FISH_DIGESTS

    dictionary = Path(school.__file__).resolve().parents[1] / "data" / "preset_dictionary.txt"
    assert _sha256(dictionary) == PRESET_DICTIONARY_SHA256, (
        "shoal/data/preset_dictionary.txt changed: it is part of the format (deflated presets are "
        "inflated against it) and never changes")


def test_every_level_and_retired_level_has_golden_archives():
    """A new level definition, or a newly retired one, gets golden archives."""
    made = {(e["made_by"]["preset"], e["made_by"]["preset_digest"]) for e in ARCHIVES
            if isinstance(e["made_by"]["preset"], str)}
    wanted = {(f"level{n}", digest) for n, digest in LEVEL_DIGESTS.items()}
    wanted |= {(f"level{stem[len('level'):].split('-')[0]}", digest) for stem, digest in RETIRED_DIGESTS.items()}
    missing = sorted(wanted - made)
    assert not missing, f"no golden archive of {missing}: run tools/make_golden.py"


def test_golden_school_files_keep_their_identity():
    """A school file golden archives name is never edited: its name holds its id."""
    from shoal import school_file
    found = sorted((GOLDEN / "schools").glob("*.school"))
    assert found, "tests/golden/schools/ holds the school file of the identity-kind-2 archives"
    for path in found:
        assert path.stem.endswith("-" + school_file.read(path).id), f"{path.name} changed: a golden school never does"


def test_both_format_versions_have_golden_archives_of_every_form():
    """Version 1 (as shoal wrote it until 2026-12-04) and version 2 (the
    compact header: one-block and framed forms, with and without the size,
    a carried preset, a school file) are all pinned, and so are the preset ids."""
    import io

    from shoal.codec import compact, container
    forms, block_kinds = set(), set()
    for entry in ARCHIVES:
        blob = (GOLDEN / entry["file"]).read_bytes()
        version = blob[6] if blob else None
        flags = blob[7] if version == 2 else 0
        one_block = bool(flags & compact.ONE_BLOCK)
        forms.add((version, one_block, not one_block and bool(flags & compact.SIZE_KNOWN), flags & 0x03))
        if blob:
            block_kinds |= {(version, one_block, item.kind) for item in container.read_items(io.BytesIO(blob).read)
                            if isinstance(item, container.Block) and not item.stored}
    assert {(1, False, False, 0), (2, True, False, 0), (2, False, True, 0), (2, False, False, 0),
            (2, True, False, 1), (2, True, False, 2), (2, False, True, 2)} <= forms
    # blocks coded by each kind's school (block types 2-5), in both forms of version 2
    wanted = {(2, one, kind) for one in (True, False) for kind in ("text", "binary", "x86", "structured")}
    assert {(1, False, "text"), (1, False, "binary")} | wanted <= block_kinds
    # ids 1-9: levels 1-9 as first given ids; 10-15: levels 6, 1-5 as primed on 2026-12-04;
    # 16: level 9 with its structure fish; 17, 18: levels 6 and 9 x86-filtering (2026-12-05);
    # 19, 20: levels 9 and 8 with x86 fish; 21-23: levels 6, 8, 9 with x86 schools; 24: level 8 with a
    # structured-text school (2026-12-05)
    first = {1: "level1-1", 2: "level2-2", 3: "level3-2", 4: "level4-2", 5: "level5-4", 6: "level6-5",
             8: "level8-2", 9: "level9-2"}
    pinned = {n: (f"level{n}", RETIRED_DIGESTS[first[n]] if n in first else LEVEL_DIGESTS[n]) for n in range(1, 10)}
    pinned.update({10 + i: (f"level{n}", LEVEL_DIGESTS[n]) for i, n in enumerate((6, 1, 2, 3, 4, 5))})
    pinned[10] = ("level6", RETIRED_DIGESTS["level6-6"])
    pinned[16] = ("level9", RETIRED_DIGESTS["level9-3"])
    pinned[17] = ("level6", RETIRED_DIGESTS["level6-7"])
    pinned[18] = ("level9", RETIRED_DIGESTS["level9-4"])
    pinned[19] = ("level9", RETIRED_DIGESTS["level9-5"])
    pinned[20] = ("level8", RETIRED_DIGESTS["level8-3"])
    pinned[21] = ("level6", LEVEL_DIGESTS[6])
    pinned[22] = ("level8", RETIRED_DIGESTS["level8-4"])
    pinned[23] = ("level9", LEVEL_DIGESTS[9])
    pinned[24] = ("level8", LEVEL_DIGESTS[8])
    # 25-33: --neural's levels 1-9 (the shipped fish text-2x128, one lane, the fallback; 2026-12-05);
    # 34-42: the same with english-2x192, --neural's fish since that afternoon;
    # 43-51: with english-2x192-24k, --neural's fish since that evening;
    # 52-60: the same, the school with the fish in tables of fit 21 at most (2026-12-06)
    pinned.update({24 + n: (f"neural-level{n}", NEURAL_LEVEL_DIGESTS[n]) for n in range(1, 10)})
    pinned.update({33 + n: (f"neural-level{n}", NEURAL_LEVEL_DIGESTS_ENGLISH[n]) for n in range(1, 10)})
    pinned.update({42 + n: (f"neural-level{n}", NEURAL_LEVEL_DIGESTS_ENGLISH_24K[n]) for n in range(1, 10)})
    pinned.update({51 + n: (f"neural-level{n}", NEURAL_LEVEL_DIGESTS_TABLES_21[n]) for n in range(1, 10)})
    assert {n: (name.decode(), digest.hex()) for n, (name, digest) in compact.BUILT_IN_PRESETS.items()} == pinned, (
        "a preset id never changes: a new level definition gets a new id in shoal/data/preset_ids.json")
    for n in range(1, 10):
        assert compact.built_in_id(f"level{n}".encode(), school.level(n).digest) is not None, (
            f"level {n} has no one-byte id: add one to shoal/data/preset_ids.json")
        assert compact.built_in_id(f"neural-level{n}".encode(), school.levels.neural_level(n).digest) is not None, (
            f"--neural's level {n} has no one-byte id (a level or the shipped fish changed): add one to "
            "shoal/data/preset_ids.json")
