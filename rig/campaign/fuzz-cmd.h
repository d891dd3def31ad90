/*
 * `rig fuzz-device`: the adversarial campaign against QEMU's RSC path
 * (see campaign.h).
 */
#pragma once

/**
 * fuzz_device_main:
 * @argc: argument count, argv[0] being "fuzz-device"
 * @argv: (array length=argc): the arguments after "rig"
 *
 * Returns: 0 no finding, 1 a finding (crash, sanitizer report,
 *   conservation violation), 2 the campaign could not run
 */
int fuzz_device_main(int argc, char **argv);
