/* The scenario catalog, one line each, in the order `sandbench list` shows them. A line names
 * `const struct sb_scenario sb_scn_<ident>` defined in one file of src/scenarios/; a line whose
 * definition is missing is a link error. Include with SB_SCENARIO(ident) defined. */
SB_SCENARIO(latency_spawn)
SB_SCENARIO(latency_exec)
SB_SCENARIO(latency_cold_start)
SB_SCENARIO(latency_warm_start)
SB_SCENARIO(latency_start_net)
SB_SCENARIO(latency_start_no_net)
SB_SCENARIO(latency_start_jailed)
SB_SCENARIO(latency_start_big_image)
SB_SCENARIO(latency_shell_pool)
SB_SCENARIO(throughput_stdout)
SB_SCENARIO(throughput_exec_rate)
SB_SCENARIO(throughput_disk)
SB_SCENARIO(throughput_disk_rand)
SB_SCENARIO(resource_mem_touch)
