/**
 * Kubernetes manifests (spec/ops.md §9, §15 items 12 and 13): every document
 * and each overlay's rendering validates against the Kubernetes schemas of
 * npm `kubernetes-models` (and `@kubernetes-models/prometheus-operator`),
 * every kustomization entry exists, the renderings of the test's own
 * kustomize match `kubectl kustomize` where kubectl is installed, and the
 * §9 invariants hold. GitHub CI adds `kubeconform -strict`, which also
 * refuses unknown fields (these models check types, enums and required
 * fields, not unknown keys).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { BUILTIN_PLUGINS } from "../../src/builtin_plugins.ts";
import { createTestCliIo, makeTestDir, REPO_DIR, runCli } from "@synth/testing";
import denoJson from "../../deno.json" with { type: "json" };
import {
  canonical,
  type K8sObject,
  kustomize,
  readDocuments,
  readKustomization,
  strategicMerge,
} from "./_kustomize.ts";

const K8S = join(REPO_DIR, "k8s");
const OVERLAYS = ["sqlite", "postgres"] as const;

// deno-lint-ignore no-explicit-any
type ModelClass = new (data: any) => { validate(): void };
const MODELS: Record<string, ModelClass> = {
  "v1/ServiceAccount": ServiceAccount,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "apps/v1/Deployment": Deployment,
  "networking.k8s.io/v1/Ingress": Ingress,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
};

/** Throws with the document's name and the schema's complaint when invalid. */
function validate(object: K8sObject, where: string): void {
  const model = MODELS[`${object.apiVersion}/${object.kind}`];
  assert.ok(model, `${where}: no schema for ${object.apiVersion} ${object.kind}`);
  try {
    new model(object).validate();
  } catch (error) {
    throw new assert.AssertionError({
      message: `${where}: ${object.kind} "${object.metadata?.name}" is invalid: ${
        (error as Error).message
      }`,
    });
  }
}

async function yamlFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...await yamlFiles(path));
    else if (/\.ya?ml$/.test(entry.name)) files.push(path);
  }
  return files.sort();
}

const rendered = Object.fromEntries(
  await Promise.all(
    OVERLAYS.map(async (name) => [name, await kustomize(join(K8S, "overlays", name))]),
  ),
) as Record<typeof OVERLAYS[number], K8sObject[]>;
const one = (objects: K8sObject[], kind: string) => {
  const found = objects.filter((object) => object.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
};

Deno.test("every Kubernetes document in k8s/ validates against the Kubernetes schemas", async () => {
  let count = 0;
  for (const file of await yamlFiles(K8S)) {
    if (file.endsWith("kustomization.yaml")) continue;
    for (const document of await readDocuments(file)) {
      // Patches are partial by design; they are checked merged into the base.
      if (file.includes("-patch.")) continue;
      validate(document, relative(REPO_DIR, file));
      count++;
    }
  }
  assert.ok(count >= 10, `${count} documents`);
});

Deno.test("every kustomization entry exists and every manifest is used", async () => {
  const used = new Set<string>();
  for (const file of await yamlFiles(K8S)) {
    if (!file.endsWith("kustomization.yaml")) continue;
    const kustomization = await readKustomization(join(file, ".."));
    for (
      const path of [
        ...kustomization.resources,
        ...kustomization.components,
        ...kustomization.patches,
      ]
    ) {
      assert.ok(
        existsSync(path),
        `${relative(REPO_DIR, file)} names ${relative(REPO_DIR, path)}, which is missing`,
      );
      used.add(path);
    }
  }
  for (const file of await yamlFiles(K8S)) {
    if (file.endsWith("kustomization.yaml")) continue;
    assert.ok(used.has(file), `${relative(REPO_DIR, file)} is not in any kustomization`);
  }
  assert.ok(existsSync(join(K8S, "base", "secret.example.env")));
});

Deno.test("each overlay, patched onto the base, validates against the schemas", () => {
  for (const overlay of OVERLAYS) {
    const objects = rendered[overlay];
    for (const object of objects) validate(object, `overlays/${overlay}`);
    const kinds = objects.map((object) => object.kind).sort();
    assert.ok(kinds.includes("ServiceMonitor"), `${overlay} includes the monitoring component`);
  }
  assert.deepEqual(
    rendered.sqlite.map((object) => object.kind).sort(),
    [
      "ConfigMap",
      "Deployment",
      "Ingress",
      "NetworkPolicy",
      "PersistentVolumeClaim",
      "PodDisruptionBudget",
      "Service",
      "ServiceAccount",
      "ServiceMonitor",
    ],
  );
  assert.deepEqual(
    rendered.postgres.map((object) => object.kind).sort(),
    [
      "ConfigMap",
      "Deployment",
      "HorizontalPodAutoscaler",
      "Ingress",
      "NetworkPolicy",
      "PodDisruptionBudget",
      "Service",
      "ServiceAccount",
      "ServiceMonitor",
    ],
  );
});

let kubectlFound = true;
try {
  await new Deno.Command("kubectl", {
    args: ["version", "--client"],
    stdout: "null",
    stderr: "null",
  }).output();
} catch {
  kubectlFound = false;
}

Deno.test({
  name: "the test's kustomize renders what kubectl kustomize renders",
  ignore: !kubectlFound,
  async fn() {
    for (const overlay of OVERLAYS) {
      const output = await new Deno.Command("kubectl", {
        args: ["kustomize", join(K8S, "overlays", overlay)],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      const { parseAllDocuments } = await import("yaml");
      const fromKubectl = parseAllDocuments(new TextDecoder().decode(output.stdout))
        .map((document) => document.toJSON() as K8sObject).filter(Boolean);
      assert.deepEqual(canonical(rendered[overlay]), canonical(fromKubectl), overlay);
    }
  },
});
if (!kubectlFound) {
  // deno-lint-ignore no-console
  console.log("kubectl is not installed: the comparison with kubectl kustomize is skipped");
}

Deno.test("the pod is hardened, probed on the health routes, sized, and runs the release's image", () => {
  for (const overlay of OVERLAYS) {
    const deployment = one(rendered[overlay], "Deployment");
    const pod = deployment.spec.template.spec;
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.terminationGracePeriodSeconds, 30);
    assert.equal(pod.containers.length, 1);
    const container = pod.containers[0];
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(container.securityContext.capabilities, { drop: ["ALL"] });
    assert.deepEqual(container.ports, [{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    assert.equal(container.image, `ghcr.io/owner/synth-mind:${denoJson.version}`);
    assert.match(container.image, /^ghcr\.io\/[^/]+\/synth-mind:\d+\.\d+\.\d+/);
    assert.deepEqual(container.envFrom, [{ secretRef: { name: "synth-mind" } }]);
    const env = Object.fromEntries(container.env.map((item: K8sObject) => [item.name, item.value]));
    assert.equal(env.SYNTH_CONFIG, "/app/config/synth.config.json");
    // The server set reads only "." (the image's /app) and writes ./data.
    assert.ok(env.SYNTH_CONFIG.startsWith("/app/"), "the config file is readable under -P=server");
    assert.equal(env.SYNTH_HEALTH_READY_REQUIRES, "database,migrations,vector_index,disk,sandbox");
    assert.deepEqual(container.resources, {
      requests: { cpu: "250m", memory: "384Mi" },
      limits: { cpu: "2", memory: "2Gi" },
    });
    const probe = (name: string) => {
      const { httpGet, ...timing } = container[name];
      return { path: httpGet.path, port: httpGet.port, ...timing };
    };
    assert.deepEqual(probe("startupProbe"), {
      path: "/health/live",
      port: "http",
      periodSeconds: 2,
      failureThreshold: 30,
    });
    assert.deepEqual(probe("livenessProbe"), {
      path: "/health/live",
      port: "http",
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
    });
    assert.deepEqual(probe("readinessProbe"), {
      path: "/health/ready",
      port: "http",
      periodSeconds: 5,
      timeoutSeconds: 3,
      failureThreshold: 2,
    });
    assert.deepEqual(container.lifecycle, { preStop: { sleep: { seconds: 5 } } });
    const mounts = Object.fromEntries(
      container.volumeMounts.map((mount: K8sObject) => [mount.name, mount]),
    );
    assert.deepEqual(mounts.config, { name: "config", mountPath: "/app/config", readOnly: true });
    assert.equal(mounts.data.mountPath, "/app/data", "the image's SYNTH_DATA_DIR");
    assert.equal(mounts.tmp.mountPath, "/tmp");
    const volumes = Object.fromEntries(
      pod.volumes.map((volume: K8sObject) => [volume.name, volume]),
    );
    assert.deepEqual(volumes.tmp.emptyDir, { medium: "Memory", sizeLimit: "256Mi" });
    assert.equal(volumes.config.configMap.name, one(rendered[overlay], "ConfigMap").metadata.name);
    assert.equal(
      Object.keys(volumes.data).length,
      2,
      `${overlay}: the data volume has exactly one source`,
    );
  }
});

Deno.test("selectors, port names and the Ingress and ServiceMonitor targets line up", () => {
  for (const overlay of OVERLAYS) {
    const objects = rendered[overlay];
    const deployment = one(objects, "Deployment");
    const podLabels = deployment.spec.template.metadata.labels;
    const matches = (selector: Record<string, string>) =>
      Object.entries(selector).every(([key, value]) => podLabels[key] === value);
    assert.ok(matches(deployment.spec.selector.matchLabels), "Deployment selector");
    const service = one(objects, "Service");
    assert.equal(service.spec.type, "ClusterIP");
    assert.ok(matches(service.spec.selector), "Service selector");
    assert.deepEqual(service.spec.ports.map((port: K8sObject) => port.targetPort), ["http"]);
    assert.ok(
      matches(one(objects, "PodDisruptionBudget").spec.selector.matchLabels),
      "PDB selector",
    );
    assert.ok(matches(one(objects, "NetworkPolicy").spec.podSelector.matchLabels), "NetworkPolicy");

    const ingress = one(objects, "Ingress");
    assert.equal(ingress.spec.ingressClassName, "nginx");
    assert.ok(ingress.spec.tls?.[0]?.secretName, "TLS");
    assert.equal(
      ingress.metadata.annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"],
      "3600",
    );
    assert.equal(
      ingress.metadata.annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"],
      "3600",
    );
    assert.equal(
      ingress.metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"],
      "50m",
    );
    const backend = ingress.spec.rules[0].http.paths[0].backend.service;
    assert.equal(backend.name, service.metadata.name);
    assert.ok(service.spec.ports.some((port: K8sObject) => port.name === backend.port.name));

    const monitor = one(objects, "ServiceMonitor");
    assert.ok(
      Object.entries(monitor.spec.selector.matchLabels).every(([key, value]) =>
        service.metadata.labels[key] === value
      ),
      "the ServiceMonitor selects the Service",
    );
    const [endpoint] = monitor.spec.endpoints;
    assert.equal(endpoint.port, "http");
    assert.equal(endpoint.path, "/metrics");
    assert.equal(endpoint.interval, "15s");
    assert.deepEqual(endpoint.authorization.credentials, {
      name: "synth-mind",
      key: "SYNTH_METRICS_TOKEN",
    });
  }
});

Deno.test("the NetworkPolicy admits the ingress controller and monitoring, and only DNS, HTTPS, PostgreSQL and Redis out", () => {
  const policy = one(rendered.sqlite, "NetworkPolicy");
  assert.deepEqual(policy.spec.policyTypes, ["Ingress", "Egress"]);
  const sources = policy.spec.ingress.flatMap((rule: K8sObject) => rule.from)
    .map((peer: K8sObject) => peer.namespaceSelector.matchLabels["kubernetes.io/metadata.name"]);
  assert.deepEqual(sources.sort(), ["ingress-nginx", "monitoring"]);
  assert.deepEqual(
    policy.spec.ingress.flatMap((rule: K8sObject) =>
      rule.ports.map((port: K8sObject) => port.port)
    ),
    ["http"],
  );
  const egress = policy.spec.egress.flatMap((rule: K8sObject) =>
    rule.ports.map((port: K8sObject) => `${port.protocol}/${port.port}`)
  );
  assert.deepEqual(egress.sort(), ["TCP/443", "TCP/53", "TCP/5432", "TCP/6379", "UDP/53"]);
  const internal = policy.spec.egress.find((rule: K8sObject) =>
    rule.ports.some((port: K8sObject) => port.port === 5432)
  );
  assert.deepEqual(internal.to, [{ podSelector: {} }], "database ports only inside the namespace");
});

Deno.test("sqlite: one replica, Recreate, the data on a 5Gi ReadWriteOnce claim; PDB maxUnavailable 1", () => {
  const objects = rendered.sqlite;
  const deployment = one(objects, "Deployment");
  assert.equal(deployment.spec.replicas, 1);
  assert.deepEqual(deployment.spec.strategy, { type: "Recreate" });
  const claim = one(objects, "PersistentVolumeClaim");
  assert.deepEqual(claim.spec.accessModes, ["ReadWriteOnce"]);
  assert.equal(claim.spec.resources.requests.storage, "5Gi");
  const data = deployment.spec.template.spec.volumes.find((volume: K8sObject) =>
    volume.name === "data"
  );
  assert.deepEqual(data, {
    name: "data",
    persistentVolumeClaim: { claimName: claim.metadata.name },
  });
  assert.deepEqual(one(objects, "PodDisruptionBudget").spec.maxUnavailable, 1);
  assert.ok(!objects.some((object) => object.kind === "HorizontalPodAutoscaler"));
});

Deno.test("postgres: two replicas rolling with none unavailable, an HPA of 2–6 at 70 % CPU, PDB minAvailable 1", () => {
  const objects = rendered.postgres;
  const deployment = one(objects, "Deployment");
  assert.equal(deployment.spec.replicas, 2);
  assert.equal(deployment.spec.strategy.type, "RollingUpdate");
  assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
  const container = deployment.spec.template.spec.containers[0];
  assert.ok(
    container.env.some((item: K8sObject) =>
      item.name === "SYNTH_SCALE_MODE" && item.value === "multi"
    ),
  );
  const data = deployment.spec.template.spec.volumes.find((volume: K8sObject) =>
    volume.name === "data"
  );
  assert.ok(data.emptyDir, "state is in PostgreSQL; the data directory is scratch");
  const hpa = one(objects, "HorizontalPodAutoscaler");
  assert.deepEqual(hpa.spec.scaleTargetRef, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    name: deployment.metadata.name,
  });
  assert.equal(hpa.spec.minReplicas, 2);
  assert.equal(hpa.spec.maxReplicas, 6);
  assert.equal(hpa.spec.metrics[0].resource.name, "cpu");
  assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 70);
  assert.equal(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds, 300);
  const pdb = one(objects, "PodDisruptionBudget");
  assert.equal(pdb.spec.minAvailable, 1);
  assert.ok(!("maxUnavailable" in pdb.spec));
});

Deno.test("the ConfigMap's config file and the pod's variables pass the server's own config validation", async () => {
  const configMap = one(rendered.sqlite, "ConfigMap");
  const dir = await makeTestDir("synth-k8s-config-");
  try {
    const file = join(dir, "synth.config.json");
    await Deno.writeTextFile(file, configMap.data["synth.config.json"]);
    const container = one(rendered.sqlite, "Deployment").spec.template.spec.containers[0];
    // What the kubelet would set: downward-API values, then $(VAR) expansion in order.
    const fields: Record<string, string> = {
      "status.podIP": "10.1.2.3",
      "metadata.namespace": "apps",
    };
    const env: Record<string, string> = {};
    for (const item of container.env as K8sObject[]) {
      env[item.name] = item.valueFrom
        ? fields[item.valueFrom.fieldRef.fieldPath]!
        : String(item.value).replace(/\$\((\w+)\)/g, (_, name) => env[name] ?? `$(${name})`);
    }
    env.SYNTH_CONFIG = file;
    const io = createTestCliIo({ env, plugins: BUILTIN_PLUGINS });
    assert.equal(await runCli(["serve", "--print-config"], io.io), 0, io.stderr());
    const printed = JSON.parse(io.stdout());
    assert.equal(printed.server.publicUrl, "https://synth.example.com");
    assert.deepEqual(printed.server.trustedProxies, ["10.0.0.0/8"]);
    assert.deepEqual(printed.health.readyRequires, [
      "database",
      "migrations",
      "vector_index",
      "disk",
      "sandbox",
    ]);
    // Prometheus scrapes by pod IP; in-cluster clients use the Service's names.
    assert.deepEqual(printed.server.allowedHosts, [
      "10.1.2.3",
      "synth-mind",
      "synth-mind.apps.svc",
      "synth-mind.apps.svc.cluster.local",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the strategic merge helper merges named lists by name and deletes keys set to null", () => {
  const base = {
    spec: { volumes: [{ name: "a", emptyDir: {} }, { name: "b", emptyDir: {} }], keep: 1 },
  };
  const patch = {
    spec: {
      volumes: [{ name: "b", emptyDir: null, persistentVolumeClaim: { claimName: "c" } }, {
        name: "d",
        emptyDir: {},
      }],
    },
  };
  assert.deepEqual(strategicMerge(base, patch), {
    spec: {
      volumes: [{ name: "a", emptyDir: {} }, {
        name: "b",
        persistentVolumeClaim: { claimName: "c" },
      }, { name: "d", emptyDir: {} }],
      keep: 1,
    },
  });
  assert.deepEqual(strategicMerge({ args: ["a", "b"] }, { args: ["c"] }), { args: ["c"] });
});
