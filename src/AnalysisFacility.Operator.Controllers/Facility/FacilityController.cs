using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Controllers;
using AnalysisFacility.Operator.Runtime.Hosting;
using AnalysisFacility.Operator.Tokens.Discovery;
using k8s;
using k8s.Models;
using Serilog;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.Facility;

/// <summary>Reconciles AnalysisFacility resources.</summary>
public static class FacilityController
{
    public const string Name = "analysisfacility";

    /// <summary>How long session changes are gathered before the facility's identity map is rebuilt.</summary>
    public static readonly TimeSpan SessionChangeCoalescing = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Creates the informers and the controller and adds them to <paramref name="manager"/>; <paramref name="time"/>
    /// dates key rotation, certificates and conditions (the system clock unless a test sets one).
    /// </summary>
    public static void Register(OperatorManager manager, OperatorSettings settings, IssuerRegistry issuers, ILogger log, TimeProvider? time = null)
    {
        // StatusWriter resolves types by apiVersion/kind; Types.For<T>() alone does not index custom resources by kind.
        manager.Api.Types.Register(manager.Api.Types.For<FacilityResource>());
        var facilities = manager.Informer<FacilityResource>();
        var sessions = manager.Informer<UserSession>();
        var children = new FacilityChildren(manager);
        var reconciler = new FacilityReconciler(manager, settings, issuers, children, sessions, time ?? TimeProvider.System, log.ForContext("Controller", Name));
        var controller = new Controller<FacilityResource>(Name, facilities, reconciler, manager.Api, manager.Metrics, log, settings.Workers, reconciler);
        children.Watch(controller);
        // Session users become SCITOKENS identities in the schedd's map file: only an HTCondor facility cares, and a burst
        // of session changes (every status write of a thousand sessions starting) makes one facility reconcile, not one each.
        // Status writes of sessions whose users are in the map already change nothing in it.
        controller.Watches(sessions, (type, s) =>
        {
            var key = new ObjectKey(s.Metadata.NamespaceProperty, s.Spec.FacilityRef);
            if (facilities.Get(key)?.Spec.HTCondor.Enabled != true) return [];
            return type is InformerEventType.Deleted or InformerEventType.Resync || !reconciler.IdentityMaps.Publishes(key, s.Spec.User.Name) ? [key] : [];
        }, coalesce: SessionChangeCoalescing);
        manager.Add(controller);
    }
}
