using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Builders.Tokens;

namespace AnalysisFacility.Operator.Controllers.Sessions;

/// <summary>
/// Puts the token delivery of Builders/Tokens (init container, refresher sidecar, in-memory token volume,
/// BEARER_TOKEN_FILE) into the session pod through the session builder's extension point.
/// </summary>
public sealed class SessionTokenAdapter(long runAsUser, ExperimentTokenDelivery? experiment = null) : ISessionTokenDelivery
{
    public string TokenFilePath => TokenDelivery.TokenFile(runAsUser);

    public string FacilityTokenFilePath => experiment is { IsSessionToken: true } ? TokenDelivery.FacilityTokenFile(runAsUser) : TokenFilePath;

    public void Decorate(SessionTokenTarget target)
    {
        var pieces = TokenDelivery.BuildPodPieces(new TokenDeliveryOptions(target.TokenSecretName, target.HelperImage, target.RunAsUser, target.FsGroup,
            Experiment: experiment));
        TokenDelivery.AddTo(target.PodSpec, pieces, [target.Notebook.Name]);
    }
}
