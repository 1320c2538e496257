/**
 * The phrase trie: nodes are numbers, edges are (node, token id) → child in one open-addressing
 * table of typed arrays. With 100 000 phrases that is a few MB and one probe per step, where a Map
 * per node would cost tens of MB and a pointer chase per step.
 */
export const ROOT = 0;

export class PhraseTrie<T> {
  #parent = new Int32Array(1024).fill(-1);
  #token = new Int32Array(1024);
  #child = new Int32Array(1024);
  #mask = 1023;
  #edges = 0;
  #nodes = 1;
  #hasChildren = new Uint8Array(1024);
  readonly #ends = new Map<number, T[]>();

  /** The child of `node` along `token`, or -1. */
  child(node: number, token: number): number {
    for (let slot = slotOf(node, token) & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const p = this.#parent[slot]!;
      if (p === -1) return -1;
      if (p === node && this.#token[slot] === token) return this.#child[slot]!;
    }
  }

  hasChildren(node: number): boolean {
    return this.#hasChildren[node] === 1;
  }

  /** Values stored at `node` (phrases ending there), if any. */
  ends(node: number): readonly T[] | undefined {
    return this.#ends.get(node);
  }

  /** Adds a path of token ids and stores `value` at its end. */
  insert(tokens: readonly number[], value: T): void {
    let node = ROOT;
    for (const token of tokens) {
      let next = this.child(node, token);
      if (next === -1) next = this.#addEdge(node, token);
      node = next;
    }
    let list = this.#ends.get(node);
    if (!list) this.#ends.set(node, (list = []));
    list.push(value);
  }

  #addEdge(node: number, token: number): number {
    if ((this.#edges + 1) * 2 > this.#mask + 1) this.#grow();
    const child = this.#nodes++;
    this.#place(node, token, child);
    this.#edges++;
    if (this.#hasChildren.length <= child) {
      const flags = new Uint8Array(this.#hasChildren.length * 2);
      flags.set(this.#hasChildren);
      this.#hasChildren = flags;
    }
    this.#hasChildren[node] = 1;
    return child;
  }

  #place(node: number, token: number, child: number): void {
    let slot = slotOf(node, token) & this.#mask;
    while (this.#parent[slot] !== -1) slot = (slot + 1) & this.#mask;
    this.#parent[slot] = node;
    this.#token[slot] = token;
    this.#child[slot] = child;
  }

  #grow(): void {
    const [parent, token, child] = [this.#parent, this.#token, this.#child];
    const size = (this.#mask + 1) * 2;
    this.#parent = new Int32Array(size).fill(-1);
    this.#token = new Int32Array(size);
    this.#child = new Int32Array(size);
    this.#mask = size - 1;
    for (let i = 0; i < parent.length; i++) {
      if (parent[i] !== -1) this.#place(parent[i]!, token[i]!, child[i]!);
    }
  }
}

function slotOf(node: number, token: number): number {
  let h = Math.imul(node, 0x9e3779b1) ^ Math.imul(token, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}
