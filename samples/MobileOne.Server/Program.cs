// MobileOne.Server: the Fashion-MNIST model (or MobileOne-S1 with --s1-weights) over HTTP, with micro-batching.
//
//   dotnet run --project samples/MobileOne.Server -c Release -- --urls http://127.0.0.1:5080
//   curl -H "Content-Type: image/png" --data-binary @samples/MobileOne.Sample/images/fashion-mnist/0000_ankle_boot.png http://127.0.0.1:5080/classify
//
// See docs/serving.md.
return await MobileOne.Server.ServerApp.RunAsync(args).ConfigureAwait(false);
