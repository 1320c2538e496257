/**
 * The phrase trie: nodes are numbers, edges are (node, token id) → child in one open-addressing
 * table, the three fields of a slot side by side in one Int32Array so a step is one cache line.
 * Phrases ending at a node are a linked list of phrase ids in two more typed arrays, and once built
 * each node's children are also listed (sorted token ids, CSR) so a search can try every way on
 * from a node with few children. With 100 000 phrases that is about 4 MB, where a Map per node (or
 * an array of phrase objects per end) would cost tens of MB and a pointer chase per step.
 */
export const ROOT = 0;

/** Fields of one edge slot. */
const PARENT = 0;
const TOKEN = 1;
const CHILD = 2;
const SLOT = 3;

/** A compacted trie as plain data, to post to another thread (see `PhraseTrie.from`). */
export interface PhraseTrieData {
  readonly slots: Int32Array;
  readonly capacity: number;
  readonly edges: number;
  readonly nodes: number;
  readonly phrases: number;
  readonly hasChildren: Uint8Array;
  readonly childStart: Uint32Array;
  readonly childTokens: Int32Array;
  readonly endHead: Int32Array;
  readonly endNext: Int32Array;
}

export class PhraseTrie {
  /** Edge slots (parent, token, child); parent -1 marks an empty slot. */
  #slots: Int32Array = new Int32Array(1024 * SLOT).fill(-1);
  #capacity = 1024;
  #edges = 0;
  #nodes = 1;
  /** One more than the largest phrase id inserted. */
  #phrases = 0;
  #hasChildren: Uint8Array = new Uint8Array(1024);
  /** After `compact`: node n's children's tokens are childTokens[childStart[n] .. childStart[n+1]). */
  #childStart: Uint32Array = new Uint32Array(0);
  #childTokens: Int32Array = new Int32Array(0);
  /** First phrase id ending at each node, or -1. */
  #endHead: Int32Array = new Int32Array(1024).fill(-1);
  /** The next phrase id ending at the same node, or -1, by phrase id. */
  #endNext: Int32Array = new Int32Array(1024).fill(-1);

  /** The child of `node` along `token`, or -1. */
  child(node: number, token: number): number {
    const slots = this.#slots;
    for (
      let slot = this.#slotOf(node, token);
      ;
      slot = slot + 1 === this.#capacity ? 0 : slot + 1
    ) {
      const p = slots[slot * SLOT + PARENT]!;
      if (p === -1) return -1;
      if (p === node && slots[slot * SLOT + TOKEN] === token) return slots[slot * SLOT + CHILD]!;
    }
  }

  hasChildren(node: number): boolean {
    return this.#hasChildren[node] === 1;
  }

  /** How many children `node` has (after `compact`). */
  childCount(node: number): number {
    return this.#childStart[node + 1]! - this.#childStart[node]!;
  }

  /** The token of `node`'s k-th child, in ascending token order (after `compact`). */
  childToken(node: number, k: number): number {
    return this.#childTokens[this.#childStart[node]! + k]!;
  }

  /** The first phrase id ending at `node`, or -1; then `nextEnd` until -1. */
  firstEnd(node: number): number {
    return this.#endHead[node]!;
  }

  nextEnd(phrase: number): number {
    return this.#endNext[phrase]!;
  }

  /** The trie's arrays themselves (not copies), after `compact`: post them transferred. */
  toData(): PhraseTrieData {
    return {
      slots: this.#slots,
      capacity: this.#capacity,
      edges: this.#edges,
      nodes: this.#nodes,
      phrases: this.#phrases,
      hasChildren: this.#hasChildren,
      childStart: this.#childStart,
      childTokens: this.#childTokens,
      endHead: this.#endHead,
      endNext: this.#endNext,
    };
  }

  /** The trie `toData` gave, on this thread, without inserting every phrase again. */
  static from(data: PhraseTrieData): PhraseTrie {
    const trie = new PhraseTrie();
    trie.#slots = data.slots;
    trie.#capacity = data.capacity;
    trie.#edges = data.edges;
    trie.#nodes = data.nodes;
    trie.#phrases = data.phrases;
    trie.#hasChildren = data.hasChildren;
    trie.#childStart = data.childStart;
    trie.#childTokens = data.childTokens;
    trie.#endHead = data.endHead;
    trie.#endNext = data.endNext;
    return trie;
  }

  /**
   * Adds a path of token ids and records that phrase `phrase` ends there. Phrases ending at one node
   * are listed in the order they were inserted.
   */
  insert(tokens: ArrayLike<number>, phrase: number): void {
    let node = ROOT;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      let next = this.child(node, token);
      if (next === -1) next = this.#addEdge(node, token);
      node = next;
    }
    this.#endHead = ensure(this.#endHead, node, -1);
    this.#endNext = ensure(this.#endNext, phrase, -1);
    this.#phrases = Math.max(this.#phrases, phrase + 1);
    const head = this.#endHead[node]!;
    if (head === -1) this.#endHead[node] = phrase;
    else {
      let last = head;
      while (this.#endNext[last]! !== -1) last = this.#endNext[last]!;
      this.#endNext[last] = phrase;
    }
  }

  /** Trims every array to its contents once all phrases are in (the table to a load of ~0.6). */
  compact(): void {
    this.#rehash(Math.max(8, Math.ceil(this.#edges / 0.6)));
    this.#hasChildren = this.#hasChildren.slice(0, this.#nodes);
    this.#endHead = this.#endHead.slice(0, this.#nodes);
    this.#endNext = this.#endNext.slice(0, this.#phrases);
    const start = new Uint32Array(this.#nodes + 1);
    const tokens = new Int32Array(this.#edges);
    const slots = this.#slots;
    for (let i = 0; i < slots.length; i += SLOT) {
      if (slots[i + PARENT] !== -1) start[slots[i + PARENT]! + 1]!++;
    }
    for (let n = 0; n < this.#nodes; n++) start[n + 1]! += start[n]!;
    const fill = start.slice(0, this.#nodes);
    for (let i = 0; i < slots.length; i += SLOT) {
      if (slots[i + PARENT] !== -1) tokens[fill[slots[i + PARENT]!]!++] = slots[i + TOKEN]!;
    }
    for (let n = 0; n < this.#nodes; n++) {
      if (start[n + 1]! - start[n]! > 1) tokens.subarray(start[n], start[n + 1]).sort();
    }
    this.#childStart = start;
    this.#childTokens = tokens;
  }

  #addEdge(node: number, token: number): number {
    if ((this.#edges + 1) * 2 > this.#capacity) this.#rehash(this.#capacity * 2);
    const child = this.#nodes++;
    this.#place(node, token, child);
    this.#edges++;
    this.#hasChildren = ensure(this.#hasChildren, child, 0);
    this.#hasChildren[node] = 1;
    return child;
  }

  #place(node: number, token: number, child: number): void {
    const slots = this.#slots;
    let slot = this.#slotOf(node, token);
    while (slots[slot * SLOT + PARENT] !== -1) slot = slot + 1 === this.#capacity ? 0 : slot + 1;
    slots[slot * SLOT + PARENT] = node;
    slots[slot * SLOT + TOKEN] = token;
    slots[slot * SLOT + CHILD] = child;
  }

  #rehash(capacity: number): void {
    const old = this.#slots;
    this.#slots = new Int32Array(capacity * SLOT).fill(-1);
    this.#capacity = capacity;
    for (let i = 0; i < old.length; i += SLOT) {
      if (old[i + PARENT] !== -1) this.#place(old[i + PARENT]!, old[i + TOKEN]!, old[i + CHILD]!);
    }
  }

  /** Scales the mixed key to the capacity, so the capacity need not be a power of two. */
  #slotOf(node: number, token: number): number {
    let h = Math.imul(node, 0x9e3779b1) ^ Math.imul(token, 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h = (h ^ (h >>> 13)) >>> 0;
    return Math.floor((h / 4294967296) * this.#capacity);
  }
}

/** `array`, grown (doubling, new slots set to `fill`) so that index `at` exists. */
function ensure<A extends Int32Array | Uint8Array>(array: A, at: number, fill: number): A {
  if (at < array.length) return array;
  let size = array.length * 2;
  while (size <= at) size *= 2;
  const grown = new (array.constructor as new (n: number) => A)(size);
  if (fill !== 0) grown.fill(fill);
  grown.set(array);
  return grown;
}
