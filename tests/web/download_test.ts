/**
 * Downloads (spec/dashboard.md §2): a Blob saved through an object URL on
 * a temporary `<a download>` that is removed at once, the URL revoked
 * afterwards; file names from workspace paths; sizes.
 */
import assert from "node:assert/strict";
import {
  byteSize,
  fileName,
  type LinkParent,
  REVOKE_AFTER_MS,
  saveBlob,
} from "../../web/lib/download.ts";

/** A stand-in for a shadow root and the `<a>` it gets (Deno has no DOM). */
function fakeParent() {
  const seen: { link: Record<string, unknown> | null; clickedWith: string[] } = {
    link: null,
    clickedWith: [],
  };
  const children = new Set<unknown>();
  const parent = {
    ownerDocument: {
      createElement(tag: string) {
        assert.equal(tag, "a");
        const link: Record<string, unknown> = {
          href: "",
          download: "",
          hidden: false,
          click() {
            assert.ok(children.has(link), "the link is in the page when clicked");
            seen.clickedWith.push(`${link.download} ${link.hidden}`);
          },
          remove() {
            children.delete(link);
          },
        };
        seen.link = link;
        return link;
      },
    },
    appendChild(child: unknown) {
      children.add(child);
      return child;
    },
  };
  return { parent: parent as unknown as LinkParent, seen, children };
}

Deno.test("saveBlob clicks a hidden download link to an object URL, removes it, and revokes the URL later", async () => {
  const { parent, seen, children } = fakeParent();
  const scheduled: Array<() => void> = [];
  saveBlob(new Blob(["version 2\n"], { type: "text/plain" }), "app.txt", {
    parent,
    later: (revoke) => scheduled.push(revoke),
  });
  assert.deepEqual(seen.clickedWith, ["app.txt true"]);
  assert.equal(children.size, 0, "the link is gone after the click");
  const url = String(seen.link?.href);
  assert.match(url, /^blob:/);
  // Until revoked, the URL serves the blob; afterwards it does not.
  assert.equal(await (await fetch(url)).text(), "version 2\n");
  assert.equal(scheduled.length, 1);
  scheduled[0]!();
  await assert.rejects(fetch(url));
  assert.ok(REVOKE_AFTER_MS > 0);
});

Deno.test("saveBlob revokes the URL even when the link cannot be made", async () => {
  const scheduled: Array<() => void> = [];
  const broken = {
    ownerDocument: {
      createElement() {
        throw new Error("no document");
      },
    },
  } as unknown as LinkParent;
  const realCreate = URL.createObjectURL;
  let made = "";
  URL.createObjectURL = (blob: Blob) => (made = realCreate(blob));
  try {
    assert.throws(
      () => saveBlob(new Blob(["x"]), "x.txt", { parent: broken, later: (f) => scheduled.push(f) }),
      /no document/,
    );
  } finally {
    URL.createObjectURL = realCreate;
  }
  assert.equal(scheduled.length, 1);
  scheduled[0]!();
  await assert.rejects(fetch(made));
});

Deno.test("a workspace path's file name is its last segment, without characters a name cannot hold", () => {
  assert.equal(fileName("src/app.txt"), "app.txt");
  assert.equal(fileName("notes/read me.txt"), "read me.txt");
  assert.equal(fileName("top.md"), "top.md");
  assert.equal(fileName("dir/"), "dir");
  assert.equal(fileName('odd/a"b\\c\nd.txt'), "a_b_c_d.txt");
  assert.equal(fileName(""), "download");
  assert.equal(fileName("a/.."), "download");
});

Deno.test("sizes read in bytes, then KiB, MiB and GiB with one decimal below 10", () => {
  assert.equal(byteSize(0), "0 B");
  assert.equal(byteSize(1023), "1023 B");
  assert.equal(byteSize(1024), "1.0 KiB");
  assert.equal(byteSize(1536), "1.5 KiB");
  assert.equal(byteSize(20 * 1024), "20 KiB");
  assert.equal(byteSize(3 * 1024 ** 2), "3.0 MiB");
  assert.equal(byteSize(512 * 1024 ** 3), "512 GiB");
  assert.equal(byteSize(-1), "–");
  assert.equal(byteSize(Number.NaN), "–");
});
