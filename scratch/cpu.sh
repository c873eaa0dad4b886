#!/usr/bin/env bash
# usage: scratch/cpu.sh ARM CONC SECONDS [model]
arm=$1; conc=$2; secs=$3; slug=${4:-bench-fast}
j=/tmp/stack.json
gw=$(jq -r .pids.gateway $j); bare=$(jq -r .pids.bare $j); mock=$(jq -r .pids.mock $j)
case $arm in
  direct) url=$(jq -r .mock $j); key=sk-bench; model=$([ $slug = bench-fast ] && echo mock || echo mock-ttfb-20);;
  bare) url=$(jq -r .bare $j); key=sk-bench; model=$([ $slug = bench-fast ] && echo mock || echo mock-ttfb-20);;
  gateway) url=$(jq -r .gw $j); key=$(jq -r .key $j); model=$slug;;
  mem) url=$(jq -r .mem $j); key=$(jq -r .key $j); model=$slug; gw=$(jq -r .pids.mem $j);;
esac
ticks() { local t=0; for p in "$@"; do [ -r /proc/$p/stat ] && t=$((t + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $t; }
redis=$(pgrep -x redis-server | head -1); pgs=$(pgrep -x postgres | tr '\n' ' ')
b_gw=$(ticks $gw); b_bare=$(ticks $bare); b_mock=$(ticks $mock); b_r=$(ticks $redis); b_pg=$(ticks $(pgrep postgres))
out=$( { /usr/bin/time -f "%U %S" taskset -c 1 node --import tsx test/bench/load.ts --url $url/v1/chat/completions --model $model --key $key --concurrency $conc --seconds $secs --warmup-seconds 0.5 > /tmp/load.json; } 2>&1 | tail -1)
a_gw=$(ticks $gw); a_bare=$(ticks $bare); a_mock=$(ticks $mock); a_r=$(ticks $redis); a_pg=$(ticks $(pgrep postgres))
n=$(jq '.samplesUs|length' /tmp/load.json); rps=$(jq '(.samplesUs|length)/(.windowMs/1000)|floor' /tmp/load.json)
p50=$(jq "[.samplesUs[]]|sort|.[length/2|floor]" /tmp/load.json); p99=$(jq "[.samplesUs[]]|sort|.[length*0.99|floor]" /tmp/load.json)
echo "$arm c$conc: n=$n rps=$rps p50=$p50 p99=$p99 cores=$(jq -c '[.cores[]|{b:(.busy|floor),s:(.steal|floor)}]' /tmp/load.json) cpu-sec(total run): gw=$(( (a_gw-b_gw) )) bare=$((a_bare-b_bare)) mock=$((a_mock-b_mock)) redis=$((a_r-b_r)) pg=$((a_pg-b_pg)) loadgen(u s)=$out (ticks of 10ms)"
