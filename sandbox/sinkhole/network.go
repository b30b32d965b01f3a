package sinkhole

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The addresses inside our own two namespaces. They never exist on the
// host.
var (
	sinkV4    = netip.MustParsePrefix("100.64.0.1/30")
	sandboxV4 = netip.MustParsePrefix("100.64.0.2/30")
	sinkV6    = netip.MustParsePrefix("fd53:696e:6b00::1/64")
	sandboxV6 = netip.MustParsePrefix("fd53:696e:6b00::2/64")
)

const (
	sandboxIf  = "eth0" // the container's only interface besides lo
	listenTCP  = 9      // every TCP port is redirected here
	listenDNS  = 53     // UDP 53 is redirected here
	listenUDP  = 9      // every other UDP port: a discard socket
	nftTable   = "sinkhole"
	ifPrefix   = "sh-"
	ifNameKeep = 8
)

// sinkIfName is the sinkhole end of the veth; it lives in the sinkhole
// netns only, so it need not be unique on the machine.
func sinkIfName(name string) string {
	if len(name) > ifNameKeep {
		name = name[:ifNameKeep]
	}
	return ifPrefix + name
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// wire creates the veth pair in the sinkhole netns with its peer in the
// sandbox netns, and configures addresses and routes in both.
func wire(sinkPath, sandboxPath, ifName string) error {
	sinkNS, err := netns.GetFromPath(sinkPath)
	if err != nil {
		return fmt.Errorf("open sink netns: %w", err)
	}
	defer sinkNS.Close()
	sbxNS, err := netns.GetFromPath(sandboxPath)
	if err != nil {
		return fmt.Errorf("open sandbox netns: %w", err)
	}
	defer sbxNS.Close()

	sink, err := netlink.NewHandleAt(sinkNS)
	if err != nil {
		return fmt.Errorf("netlink sink: %w", err)
	}
	defer sink.Close()
	sbx, err := netlink.NewHandleAt(sbxNS)
	if err != nil {
		return fmt.Errorf("netlink sandbox: %w", err)
	}
	defer sbx.Close()

	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: ifName},
		PeerName:      sandboxIf,
		PeerNamespace: netlink.NsFd(sbxNS),
	}
	if err := sink.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth: %w", err)
	}
	if err := configure(sink, ifName, []netip.Prefix{sinkV4, sinkV6}); err != nil {
		return fmt.Errorf("sink side: %w", err)
	}
	if err := configure(sbx, sandboxIf, []netip.Prefix{sandboxV4, sandboxV6}); err != nil {
		return fmt.Errorf("sandbox side: %w", err)
	}
	eth, err := sbx.LinkByName(sandboxIf)
	if err != nil {
		return fmt.Errorf("sandbox link: %w", err)
	}
	for _, gw := range []netip.Addr{sinkV4.Addr(), sinkV6.Addr()} {
		bits := gw.BitLen()
		r := &netlink.Route{
			LinkIndex: eth.Attrs().Index,
			Dst:       &net.IPNet{IP: net.IP(make([]byte, bits/8)), Mask: net.CIDRMask(0, bits)},
			Gw:        gw.AsSlice(),
		}
		if err := sbx.RouteAdd(r); err != nil {
			return fmt.Errorf("default route via %s: %w", gw, err)
		}
	}
	return nil
}

// configure brings lo and the named link up with the given addresses
// (IPv6 without duplicate address detection, so it is usable at once).
func configure(h *netlink.Handle, ifName string, addrs []netip.Prefix) error {
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("lo: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	link, err := h.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("link %s: %w", ifName, err)
	}
	for _, p := range addrs {
		a := &netlink.Addr{IPNet: ipNet(p)}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrAdd(link, a); err != nil {
			return fmt.Errorf("addr %s: %w", p, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("link up: %w", err)
	}
	return nil
}

// redirect installs, in the sinkhole netns, the NAT rules that send every
// TCP port to listenTCP, UDP 53 to listenDNS and other UDP to listenUDP,
// for packets arriving from the sandbox.
func redirect(sinkPath, ifName string) error {
	ns, err := netns.GetFromPath(sinkPath)
	if err != nil {
		return fmt.Errorf("open sink netns: %w", err)
	}
	defer ns.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	t := c.AddTable(&nftables.Table{Name: nftTable, Family: nftables.TableFamilyINet})
	ch := c.AddChain(&nftables.Chain{
		Name:     "prerouting",
		Table:    t,
		Type:     nftables.ChainTypeNAT,
		Hooknum:  nftables.ChainHookPrerouting,
		Priority: nftables.ChainPriorityNATDest,
	})
	iif := []byte(ifName + "\x00")
	rule := func(proto byte, dport int, to uint16) {
		e := []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: iif},
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		}
		if dport > 0 {
			e = append(e,
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, uint16(dport))},
			)
		}
		e = append(e,
			&expr.Immediate{Register: 1, Data: binary.BigEndian.AppendUint16(nil, to)},
			&expr.Redir{RegisterProtoMin: 1, Flags: unix.NF_NAT_RANGE_PROTO_SPECIFIED},
		)
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: e})
	}
	rule(unix.IPPROTO_TCP, 0, listenTCP)
	rule(unix.IPPROTO_UDP, 53, listenDNS)
	rule(unix.IPPROTO_UDP, 0, listenUDP)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nft rules: %w", err)
	}
	return nil
}
