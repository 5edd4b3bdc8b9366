/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A polkit text agent for the duration of one privileged call, as systemctl runs one. */

#include <sys/types.h>

/*
 * Starts pkttyagent when a password may be asked (ask_password), standard
 * input is a terminal, we are not root (root is never asked) and the agent
 * is installed; waits until it has registered. Returns its pid, or 0 when
 * none was started (not an error: the call then goes without an agent).
 */
pid_t polkit_agent_open(int ask_password);
/* Stops the agent started by polkit_agent_open(); 0 is a no-op. */
void polkit_agent_close(pid_t pid);
