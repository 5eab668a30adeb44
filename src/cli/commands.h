/* commands.h — the subcommands of the freqbias binary (one cmd_<name>.c each). */
#ifndef FREQBIAS_CLI_COMMANDS_H
#define FREQBIAS_CLI_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_filter(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_gradspec(int argc, char **argv);
int cmd_hars(int argc, char **argv);
int cmd_spectrum(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_cdes_train(int argc, char **argv);
int cmd_cdes_generate(int argc, char **argv);
int cmd_fourier_heatmap(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_trace(int argc, char **argv);

#endif
