//go:build linux

// Command avx512emu is the init process of the emulated machine that
// scripts/avx512emu/run.sh boots: it runs the commands listed in /cmds (one
// per line: optional NAME=value settings added to the environment, a
// binary and its arguments), prints their output on the serial console and
// powers the machine off.
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

func main() {
	fmt.Println("gsam-init: start")
	f, err := os.Open("/cmds")
	if err != nil {
		fmt.Println("gsam-init: done:", err)
		powerOff()
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		fmt.Println("gsam-init: run", fields)
		env := os.Environ()
		for len(fields) > 1 && strings.Contains(fields[0], "=") {
			env, fields = append(env, fields[0]), fields[1:]
		}
		t0 := time.Now()
		cmd := exec.Command(fields[0], fields[1:]...)
		cmd.Env = env
		cmd.Dir = "/"
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		err := cmd.Run()
		fmt.Printf("gsam-init: exit %v after %v\n", err, time.Since(t0))
	}
	fmt.Println("gsam-init: done")
	powerOff()
}

// powerOff gives the console time to drain, then stops the machine.
func powerOff() {
	syscall.Sync()
	time.Sleep(3 * time.Second)
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}
