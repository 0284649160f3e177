/**
 * A small kustomize for the tests (spec/ops.md §9): `resources`,
 * `components`, `patches` (strategic merge, lists of named items merged by
 * `name`, `null` deleting a key), `images` and `labels`. Enough for the
 * manifests in `k8s/`; GitHub CI renders them with the real
 * `kubectl kustomize` as well, and the test compares both where kubectl is
 * installed.
 */
import { dirname, join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

/** A Kubernetes object as plain data. */
// deno-lint-ignore no-explicit-any
export type K8sObject = Record<string, any>;

/** Every document of a YAML file, skipping empty ones. */
export async function readDocuments(path: string): Promise<K8sObject[]> {
  const documents = parseAllDocuments(await Deno.readTextFile(path));
  const result: K8sObject[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) {
      throw new SyntaxError(`${path}: ${document.errors.map((error) => error.message).join("; ")}`);
    }
    const value = document.toJSON();
    if (value !== null && value !== undefined) result.push(value);
  }
  return result;
}

function isObject(value: unknown): value is K8sObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function named(list: unknown[]): boolean {
  return list.length > 0 && list.every((item) => isObject(item) && typeof item.name === "string");
}

/** Strategic merge of `patch` into `base` (a new value; neither input changes). */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isObject(base) && isObject(patch)) {
    const result: K8sObject = structuredClone(base);
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete result[key];
      else result[key] = key in result ? strategicMerge(result[key], value) : stripNulls(value);
    }
    return result;
  }
  if (Array.isArray(base) && Array.isArray(patch) && named(base) && named(patch)) {
    const result = structuredClone(base) as K8sObject[];
    for (const item of patch as K8sObject[]) {
      const index = result.findIndex((existing) => existing.name === item.name);
      if (index >= 0) result[index] = strategicMerge(result[index], item) as K8sObject;
      else result.push(stripNulls(item) as K8sObject);
    }
    return result;
  }
  return stripNulls(patch);
}

function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (isObject(value)) {
    return Object.fromEntries(
      Object.entries(value).filter(([, item]) => item !== null).map(([key, item]) => [
        key,
        stripNulls(item),
      ]),
    );
  }
  return value;
}

/** The kustomization file of a directory and the paths it names, resolved. */
export interface Kustomization {
  dir: string;
  kind: string;
  resources: string[];
  components: string[];
  patches: string[];
  images: Array<{ name: string; newName?: string; newTag?: string }>;
  labels: Array<{ pairs: Record<string, string> }>;
}

/** Reads `<dir>/kustomization.yaml`. */
export async function readKustomization(dir: string): Promise<Kustomization> {
  const [file] = await readDocuments(join(dir, "kustomization.yaml"));
  if (!file) throw new TypeError(`${dir}/kustomization.yaml is empty`);
  const known = new Set([
    "apiVersion",
    "kind",
    "resources",
    "components",
    "patches",
    "images",
    "labels",
  ]);
  for (const key of Object.keys(file)) {
    if (!known.has(key)) {
      throw new TypeError(`${dir}/kustomization.yaml: the test's kustomize does not know "${key}"`);
    }
  }
  return {
    dir,
    kind: file.kind,
    resources: (file.resources ?? []).map((entry: string) => resolve(dir, entry)),
    components: (file.components ?? []).map((entry: string) => resolve(dir, entry)),
    patches: (file.patches ?? []).map((entry: { path?: string }) => {
      if (!entry.path) throw new TypeError(`${dir}: only patches with a path are supported`);
      return resolve(dir, entry.path);
    }),
    images: file.images ?? [],
    labels: file.labels ?? [],
  };
}

function sameTarget(object: K8sObject, patch: K8sObject): boolean {
  return object.kind === patch.kind && object.metadata?.name === patch.metadata?.name;
}

/** Renders a kustomization directory into its objects. */
export async function kustomize(dir: string): Promise<K8sObject[]> {
  const kustomization = await readKustomization(dir);
  let objects: K8sObject[] = [];
  for (const resource of kustomization.resources) {
    const stat = await Deno.stat(resource);
    objects.push(...(stat.isDirectory ? await kustomize(resource) : await readDocuments(resource)));
  }
  for (const component of kustomization.components) {
    const rendered = await kustomize(component);
    objects.push(...rendered.filter((object) => !objects.some((o) => sameTarget(o, object))));
  }
  for (const path of kustomization.patches) {
    for (const patch of await readDocuments(path)) {
      const index = objects.findIndex((object) => sameTarget(object, patch));
      if (index < 0) {
        throw new TypeError(
          `${path}: no ${patch.kind} "${patch.metadata?.name}" to patch in ${dirname(path)}`,
        );
      }
      objects[index] = strategicMerge(objects[index], patch) as K8sObject;
    }
  }
  for (const image of kustomization.images) {
    objects = objects.map((object) => retag(object, image));
  }
  for (const { pairs } of kustomization.labels) {
    for (const object of objects) {
      object.metadata = { ...object.metadata, labels: { ...object.metadata?.labels, ...pairs } };
    }
  }
  return objects;
}

function retag(object: K8sObject, image: Kustomization["images"][number]): K8sObject {
  const visit = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(visit);
    if (!isObject(value)) return value;
    const result: K8sObject = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === "image" && typeof item === "string") {
        const [name] = item.split(/[:@]/, 1);
        result[key] = name === image.name
          ? `${image.newName ?? name}:${image.newTag ?? item.slice(name!.length + 1)}`
          : item;
      } else {
        result[key] = visit(item);
      }
    }
    return result;
  };
  return visit(object) as K8sObject;
}

/**
 * A canonical form for comparing two renderings: objects sorted by kind and
 * name, named lists by name, and kustomize's own defaults left aside.
 */
export function canonical(objects: K8sObject[]): K8sObject[] {
  const sortNamed = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      const items = value.map(sortNamed);
      return named(items)
        ? [...(items as K8sObject[])].sort((a, b) => a.name.localeCompare(b.name))
        : items;
    }
    if (!isObject(value)) return value;
    return Object.fromEntries(
      Object.keys(value).sort().map((key) => [key, sortNamed(value[key])]),
    );
  };
  return objects.map(sortNamed as (object: K8sObject) => K8sObject)
    .sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
}
