#!/bin/sh
# /init of the rig's Linux test guest (busybox).  It stands in for a Windows
# studio or client: it learns its role and addresses from the MACs the rig
# gave its NICs (52:54:00:<session>:<net>:<vm>; net 01 control, 02 test,
# 03 world, 04 a client's extra NIC; vm 0 is the studio, 1..N the
# clients), runs the network checks
# of a session itself and prints one "RIG ..." line per result on the
# serial console, where the test reads them:
#   RIG nic DEV mac=M net=NN queues=Q speed=S   per NIC (Q: RX queues the
#                                     driver uses, S: its link speed)
#   RIG role ROLE                     once the NICs are configured
#   RIG ping NET ADDR ok|fail         clients: studio (control), peer (test)
#   RIG tcp-tx NET ADDR BYTES ok|fail clients: a TCP transfer
#   RIG tcp-rx NET bytes=N            studio (control on port 5001, world
#                                     on 5003) and client1 (test, 5002)
#   RIG done                          clients: all checks ran
# Addresses: control 169.254.100.<vm+1>/24; test 169.254.1.<last MAC
# byte>/24, the address the HLK RSC test derives from the MAC; world
# 10.0.2.15/24, QEMU user networking's guest address (the host reaches it
# through the session's port forwards).
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
while read -r module; do
    insmod "/modules/$module" || echo "RIG error insmod $module"
done </modules/order

say()
{
    echo "RIG $*"
}

# NICs show up asynchronously after the drivers load.
i=0
while [ "$i" -lt 50 ] && ! ls /sys/class/net | grep -q '^eth'; do
    usleep 100000
    i=$((i + 1))
done
usleep 300000

ip link set lo up
role=unknown
ctl_ip=
test_ip=
for dev in /sys/class/net/eth*; do
    [ -e "$dev" ] || break # no NIC at all: the glob stayed unexpanded
    name=${dev##*/}
    mac=$(cat "$dev/address")
    net=$(echo "$mac" | cut -d: -f5)
    vm=$((0x$(echo "$mac" | cut -d: -f6)))
    case $net in
    01)
        ctl_ip=169.254.100.$((vm + 1))
        ip addr add "$ctl_ip/24" dev "$name"
        if [ "$vm" = 0 ]; then role=studio; else role=client$vm; fi
        ;;
    02)
        test_ip=169.254.1.$vm
        ip addr add "$test_ip/24" dev "$name"
        ;;
    03)
        ip addr add 10.0.2.15/24 dev "$name"
        ;;
    esac
    ip link set "$name" up
    queues=$(ls -d "$dev"/queues/rx-* 2>/dev/null | wc -l)
    speed=$(cat "$dev/speed" 2>/dev/null || echo unknown)
    say "nic $name mac=$mac net=$net queues=$queues speed=$speed"
done
say "role $role ctl=$ctl_ip test=$test_ip"

# Receives one connection at a time on PORT and reports its size.  busybox
# nc quits when its stdin ends, so its stdin is a FIFO held open read-write
# (never EOF, and no helper process for the substitution to wait for).
mkfifo /tmp/hold
exec 3<>/tmp/hold
serve()
{
    net=$1
    port=$2
    while :; do
        n=$(nc -l -p "$port" <&3 | wc -c)
        say "tcp-rx $net bytes=$n"
    done
}

ping_until()
{
    net=$1
    addr=$2
    i=0
    while [ "$i" -lt 120 ]; do
        if ping -c 1 -W 1 "$addr" >/dev/null 2>&1; then
            say "ping $net $addr ok"
            return 0
        fi
        i=$((i + 1))
    done
    say "ping $net $addr fail"
}

send_until()
{
    net=$1
    addr=$2
    port=$3
    kib=$4
    i=0
    while [ "$i" -lt 60 ]; do
        # nc exits 1 when nobody listens yet.
        if dd if=/dev/zero bs=1024 count="$kib" 2>/dev/null |
            nc -w 5 "$addr" "$port"; then
            say "tcp-tx $net $addr $((kib * 1024)) ok"
            return 0
        fi
        sleep 1
        i=$((i + 1))
    done
    say "tcp-tx $net $addr $((kib * 1024)) fail"
}

case $role in
studio)
    serve control 5001 &
    serve world 5003 &
    ;;
client*)
    n=${role#client}
    if [ "$n" = 1 ]; then peer=2; else peer=1; fi
    [ "$n" = 1 ] && serve test 5002 &
    ping_until control 169.254.100.1
    ping_until test "169.254.1.$peer"
    send_until control 169.254.100.1 5001 1024
    [ "$n" = 1 ] || send_until test "169.254.1.$peer" 5002 4096
    say done
    ;;
esac

# Stay up: the rig stops the VM.
while :; do
    sleep 3600
done
