# The conventions docker and podman users expect, on real networks and containers: -q, --format
# (table, json, Go-style templates), --filter, did-you-mean for typos (one line, exit 64),
# --version, --log-level/--debug on a command of many steps.
swnet network create web --subnet 10.81.0.0/24 >/dev/null
swnet network create db --subnet 10.82.0.0/24 --bridge br-db >/dev/null
api=$(swnet run -d --name api --network web -- sleep 600)
worker=$(swnet run -d --name worker --network db -- sleep 600)
swnet run --name done -- true

eq "network ls -q" "$(swnet network ls -q | paste -sd' ')" "db web"
eq "network ls --filter name=" "$(swnet network ls -q --filter name=we)" "web"
eq "network ls --filter bridge=" "$(swnet network ls -q --filter bridge=br-db)" "db"
eq "filters of one key are alternatives" "$(swnet network ls -q --filter name=web --filter name=db | paste -sd' ')" "db web"
eq "network ls --format template" "$(swnet network ls --format '{{.Name}}={{.Subnet}} {{.Attachments}}' | paste -sd' ')" \
    "db=10.82.0.0/24 1 web=10.81.0.0/24 1"
eq "network ls --format 'table ...' aligns under headers" "$(swnet network ls --format 'table {{.Name}}\t{{.Bridge}}')" \
    "$(printf 'NAME   BRIDGE\ndb     br-db\nweb    web')"
eq "network ls --format json: an object a line" \
    "$(swnet network ls --format json | while read -r line; do json 'd["bridge"]' <<<"$line"; done | paste -sd' ')" "br-db web"
eq "--json stays an array" "$(swnet network ls --json | json 'len(d)')" "2"

eq "ps -q prints short ids" "$(swnet ps -q | sort | paste -sd' ')" "$(printf '%s\n' "${api:0:12}" "${worker:0:12}" | sort | paste -sd' ')"
eq "ps --filter network=" "$(swnet ps --format '{{.Name}}' --filter network=db)" "worker"
eq "ps --filter id= prefix" "$(swnet ps --format '{{.Name}}' --filter id="${api:0:6}")" "api"
eq "ps --filter status=exited shows exited ones without -a" "$(swnet ps --format '{{.Name}} {{.status}}' --filter status=exited)" "done exited"
eq "ps --filter keys are and-ed" "$(swnet ps -q --filter name=api --filter network=db)" ""
eq "ps template with JSON fields and functions" "$(swnet ps --format '{{upper .Name}} {{json .networks}} {{join .command " "}}' --filter name=api)" \
    'API ["web"] sleep 600'
eq "ps takes docker's field names" "$(swnet ps --format 'table {{.ID}}\t{{.Names}}' --filter name=worker | tr -s ' ')" \
    "$(printf 'CONTAINER ID NAMES\n%s worker' "${worker:0:12}")"
eq "ps --format 'table' keeps the default columns" "$(swnet ps --format table | head -n 1 | tr -s ' ')" "CONTAINER ID NAMES COMMAND STATUS NETWORKS"

eq "network inspect -f" "$(swnet network inspect db -f '{{.bridge}} {{.subnet}} {{json .masquerade}}')" "br-db 10.82.0.0/24 true"
eq "network inspect --format json is one line" "$(swnet network inspect web --format json | json 'd["attachments"][0]["target"]')" "container api"
eq "inspect -f, a line per container" "$(swnet inspect api worker -f '{{.name}}: {{join .networks ","}}' | paste -sd' ')" "api: web worker: db"
status_of() { "$@" >/dev/null 2>&1; echo $?; }
fails "a mistyped option" swnet network create x --subnt 10.83.0.0/24
eq "...suggests the option" "$error_line" "swnet: unknown option '--subnt' for 'swnet network create'; did you mean '--subnet'?"
eq "...and exits 64" "$(status_of swnet network create x --subnt 10.83.0.0/24)" "64"
fails "a mistyped subcommand" swnet netwrok ls
eq "...suggests the subcommand" "$error_line" "swnet: unknown subcommand 'netwrok' for 'swnet'; did you mean 'network'?"
# The template each command's help shows as its example runs on that command's own fields.
help_example() { "$SWNET" "$@" --help | tr -s ' \n' ' ' | grep -o "template \(over the JSON \)\?like '[^']*'" | sed "s/.*like '//; s/'\$//"; }
for command in "network ls" "ps" "network inspect web" "inspect api"; do
    example=$(help_example $command)
    ok "the --format example of '$command --help' ($example) works" swnet $command --format "$example"
done
fails "a mistyped filter key" swnet ps --filter stauts=running
fails "a filter value ps cannot have" swnet ps --filter status=up
fails "-q with --json" swnet network ls -q --json
fails "a template naming no field" swnet network ls --format '{{.Nope}}'
eq "...exits 64 like other usage errors" "$(status_of swnet network ls --format '{{.Nope}}')" "64"
fails "an unclosed template" swnet ps --format '{{.Name'
fails "inspect --format table" swnet network inspect web --format table
fails "inspect --json with -f" swnet inspect api --json -f '{{.name}}'

eq "--version names the commit" "$(swnet --version | grep -cE '^swnet [0-9.]+ \(commit [0-9a-f]{12}(-dirty)?\)$')" "1"

container c1
debug=$(swnet attach c1 web --debug 2>&1 >/dev/null)
if grep -q '^swnet: debug: attach netns c1: leased 10.81.0.[0-9]*/24 on network web' <<<"$debug"; then
    pass "attach --debug tells its steps on stderr"
else
    fail "attach --debug tells its steps on stderr"; echo "$debug" | sed 's/^/    /'
fi
eq "without it, nothing on stderr" "$(swnet detach c1 2>&1 >/dev/null)" ""
ok "SWNET_LOG_LEVEL=debug does the same" bash -c "SWNET_LOG_LEVEL=debug '$SWNET' attach c1 web 2>&1 >/dev/null | grep -q 'debug: attach'"
swnet detach c1 >/dev/null
fails "a failing attach with --debug still says one line" swnet attach c1 web 10.99.0.5/24 --log-level error

swnet rm -f api worker done >/dev/null
