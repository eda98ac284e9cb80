#!/usr/bin/env python3
"""A small CNI runtime for tests, doing what libcni does with a conflist (Debian has no cnitool,
and its clients speak CNI <= 1.0; this one speaks 1.1 too):

  cni-tool.py ADD|CHECK|DEL CONFLIST CONTAINER_ID NETNS [IFNAME]
  cni-tool.py GC CONFLIST [CONTAINER_ID/IFNAME...]      valid attachments
  cni-tool.py STATUS CONFLIST

ADD runs the plugins in order, each with the previous one's result as prevResult, and caches the
final result; CHECK gives every plugin the cached result; DEL runs them in reverse order with it.
Capability arguments come from $CNI_RUNTIME_CONFIG (JSON) and reach only the plugins that declare
the capability. Plugins are found in $CNI_PATH; the cache lives in $CNI_CACHE_DIR.
A failing plugin's error JSON is printed and the exit status is 1."""
import json
import os
import subprocess
import sys


def run_plugin(plugin, network, command, container_id, netns, ifname, prev_result, extra):
    config = dict(plugin)
    config["cniVersion"] = network["cniVersion"]
    config["name"] = network["name"]
    runtime = json.loads(os.environ.get("CNI_RUNTIME_CONFIG", "{}"))
    wanted = {key: value for key, value in runtime.items() if plugin.get("capabilities", {}).get(key)}
    if wanted:
        config["runtimeConfig"] = wanted
    if prev_result is not None:
        config["prevResult"] = prev_result
    config.update(extra)
    path = os.environ["CNI_PATH"]
    program = next((os.path.join(d, plugin["type"]) for d in path.split(":")
                    if os.access(os.path.join(d, plugin["type"]), os.X_OK)), None)
    if program is None:
        sys.exit(f"cni-tool: plugin {plugin['type']} not found in {path}")
    env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=container_id, CNI_NETNS=netns,
               CNI_IFNAME=ifname, CNI_ARGS="IgnoreUnknown=1")
    done = subprocess.run([program], input=json.dumps(config).encode(), env=env, capture_output=True)
    sys.stderr.write(done.stderr.decode())
    if done.returncode != 0:
        print(done.stdout.decode().strip())
        sys.exit(1)
    return json.loads(done.stdout) if done.stdout.strip() else None


def main():
    command, conflist = sys.argv[1], json.load(open(sys.argv[2]))
    plugins = conflist["plugins"]
    if command in ("GC", "STATUS"):
        valid = [{"containerID": item.split("/")[0], "ifname": item.split("/")[1]} for item in sys.argv[3:]]
        extra = {"cni.dev/valid-attachments": valid} if command == "GC" else {}
        for plugin in plugins:
            run_plugin(plugin, conflist, command, "", "", "", None, extra)
        return
    container_id, netns = sys.argv[3], sys.argv[4]
    ifname = sys.argv[5] if len(sys.argv) > 5 else "eth0"
    cache = os.path.join(os.environ["CNI_CACHE_DIR"], f"{conflist['name']}-{container_id}-{ifname}.json")
    if command == "ADD":
        result = None
        for plugin in plugins:
            result = run_plugin(plugin, conflist, "ADD", container_id, netns, ifname, result, {})
        with open(cache, "w") as file:
            json.dump(result, file)
        print(json.dumps(result))
    elif command == "CHECK":
        cached = json.load(open(cache))
        for plugin in plugins:
            run_plugin(plugin, conflist, "CHECK", container_id, netns, ifname, cached, {})
    elif command == "DEL":
        cached = json.load(open(cache)) if os.path.exists(cache) else None
        for plugin in reversed(plugins):
            run_plugin(plugin, conflist, "DEL", container_id, netns, ifname, cached, {})
        if os.path.exists(cache):
            os.remove(cache)


main()
