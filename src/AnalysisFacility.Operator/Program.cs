using AnalysisFacility.Operator.Cli;

return await OperatorCli.InvokeAsync(args, Console.Out, Console.Error);
